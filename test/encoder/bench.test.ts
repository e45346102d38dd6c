import assert from 'node:assert/strict';
import { test } from 'node:test';
import { benchEncoder, benchTexts } from '../../src/encoder/bench.js';
import { ensureDefaultModel, TEST_MODELS_DIR } from './model-helper.js';

test('bench texts are varied item-template texts', () => {
  const t = benchTexts(10);
  assert.equal(t.length, 10);
  assert.equal(new Set(t).size, 10);
  assert.ok(t.every((s) => s.startsWith('The item information is given as follows.')));
});

test('benchEncoder reports both paths for each batch size (small run)', async () => {
  await ensureDefaultModel();
  const r = await benchEncoder({ modelsDir: TEST_MODELS_DIR, models: ['all-minilm-l6-v2-q'], batchSizes: [1, 4], items: 8, intraOpNumThreads: 2, device: 'cpu' });
  assert.equal(r.bench, 'encoder');
  assert.deepEqual(r.rows.map((row) => row.batchSize), [1, 4]);
  for (const row of r.rows) {
    assert.equal(row.dim, 384);
    assert.ok(row.encoder.itemsPerSec > 0 && row.bareOnnx.itemsPerSec > 0);
    assert.ok(row.encoder.tokensPerSec > row.encoder.itemsPerSec);
    assert.ok(row.overheadRatio > 0);
  }
});
