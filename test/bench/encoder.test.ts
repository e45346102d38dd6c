import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchEncoder, benchMovieTexts, benchTexts } from '../../src/bench/encoder.js';
import { ensureDefaultModel, LLM_TEST_MODEL, TEST_MODELS_DIR } from '../encoder/model-helper.js';

test('bench texts are varied item-template texts', () => {
  const t = benchTexts(10);
  assert.equal(t.length, 10);
  assert.equal(new Set(t).size, 10);
  assert.ok(t.every((s) => s.startsWith('The item information is given as follows.')));
});

test('movie bench texts are short MovieLens-like items: a title with its year and genres, nothing else', () => {
  const t = benchMovieTexts(12);
  assert.equal(new Set(t).size, 12);
  for (const s of t) {
    assert.match(s, /^The item information is given as follows\. Item title is ".+ \(\d{4}\)"\. This item belongs to "[^"]+"\.$/);
  }
});

test('benchEncoder reports every path for each batch size, the LLM beside ONNX (small run)', async () => {
  await ensureDefaultModel();
  const r = await benchEncoder({ modelsDir: TEST_MODELS_DIR, models: ['all-minilm-l6-v2-q', LLM_TEST_MODEL], batchSizes: [1, 4], items: 8, intraOpNumThreads: 2, device: 'cpu' });
  assert.equal(r.bench, 'encoder');
  assert.deepEqual(r.rows.map((row) => [row.model, row.batchSize]), [['all-minilm-l6-v2-q', 1], ['all-minilm-l6-v2-q', 4], [LLM_TEST_MODEL, 1], [LLM_TEST_MODEL, 4]]);
  for (const row of r.rows) {
    assert.equal(row.dim, row.model === LLM_TEST_MODEL ? 576 : 384);
    assert.ok(row.encoder.itemsPerSec > 0);
    assert.ok(row.encoder.tokensPerSec > row.encoder.itemsPerSec);
    assert.ok(row.p50MsPerBatch > 0 && row.p99MsPerBatch >= row.p50MsPerBatch);
    assert.ok(row.cpuMsPerItem > 0);
    if (row.model === LLM_TEST_MODEL) {
      assert.equal(row.bareOnnx, null, 'no ONNX floor for a GGUF model');
    } else {
      assert.ok(row.bareOnnx !== null && row.bareOnnx.itemsPerSec > 0);
      assert.ok(row.overheadRatio !== null && row.overheadRatio > 0);
    }
  }
});
