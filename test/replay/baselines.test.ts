import assert from 'node:assert/strict';
import { test } from 'node:test';
import { palConfig } from '../../src/model/config.js';
import { selectBackend } from '../../src/model/backend.js';
import { IdSequenceLearner } from '../../src/replay/methods/sasrec/id-learner.js';
import { LatencyRecorder } from '../../src/replay/latency.js';
import { rankOf } from '../../src/replay/metrics.js';
import { DecayedPopularity } from '../../src/popularity/index.js';
import { normalisedMean, scoreRows } from '../../src/replay/scoring.js';
import { parseMethods } from '../../src/replay/evaluator.js';

const DAY = 86_400_000;

test('decayed popularity: one half-life halves a count; recent interactions outrank old ones', () => {
  const p = new DecayedPopularity(DAY);
  p.add('old', 0);
  p.add('old', 0);
  p.add('new', 2 * DAY);
  const [old, fresh, never] = p.scores(['old', 'new', 'never'], 2 * DAY);
  assert.ok(Math.abs((old as number) - 0.5) < 1e-6, `two events two half-lives ago count 0.5, got ${old}`);
  assert.equal(fresh, 1);
  assert.equal(never, 0);
  assert.equal(rankOf(p.scores(['old', 'new', 'never'], 2 * DAY), 1), 1);
  // An out-of-order (older) event decays forward to the newer time instead of resetting it.
  p.add('new', DAY);
  assert.ok(Math.abs((p.scores(['new'], 2 * DAY)[0] as number) - 1.5) < 1e-6);
});

test('content scoring: normalised mean user vector and inner products', () => {
  const u = normalisedMean([Float32Array.of(1, 0), Float32Array.of(0, 1)], 2);
  assert.ok(Math.abs(Math.hypot(...u) - 1) < 1e-6);
  const s = scoreRows(Float32Array.of(1, 0, 0, 1, -1, 0), 3, 2, u);
  assert.deepEqual([...s].map((x) => Math.round(x * 1000) / 1000), [0.707, 0.707, -0.707]);
});

test('latency summary: exact percentiles and buckets', () => {
  const r = new LatencyRecorder();
  for (let i = 1; i <= 100; i++) r.record(i * 10);
  const s = r.summary();
  assert.equal(s.count, 100);
  assert.equal(s.p50Ms, 510);
  assert.equal(s.maxMs, 1000);
  assert.equal(s.buckets.reduce((a, b) => a + b.count, 0), 100);
  assert.equal(s.buckets.find((b) => b.le === 10)?.count, 1);
});

test('--methods parsing', () => {
  assert.deepEqual(parseMethods('learn, popularity,learn'), ['learn', 'popularity']);
  assert.throws(() => parseMethods('learn,bogus'), /bogus/);
});

test('SASRec-like ID model on wasm: gradients reach the embedding table through tf.gather and the loss falls', async () => {
  await selectBackend('wasm');
  const cfg = palConfig({ contentDim: 1, dim: 16, layers: 1, heads: 2, outDim: 8, maxHistory: 8, dropout: 0, historySamples: 3, targetSamples: 2, learningRate: 0.01 });
  const m = new IdSequenceLearner(cfg, 40, 3);
  // Two taste groups: users of group g interact with items g*20 .. g*20+19.
  const examples = Array.from({ length: 16 }, (_, u) => {
    const g = u % 2;
    const item = (k: number): string => `i${g * 20 + ((u * 7 + k * 3) % 20)}`;
    return { history: [item(0), item(1), item(2), item(3)], targets: [item(4), item(5)] };
  });
  const first = m.trainStep(examples);
  let last = first;
  for (let s = 0; s < 40; s++) last = m.trainStep(examples);
  assert.ok(first > 0 && Number.isFinite(last));
  assert.ok(last < first * 0.8, `loss fell: ${first} -> ${last}`);
  assert.equal(m.step, 41);
  const [u0] = m.userVectors([['i0', 'i3', 'i6']]);
  assert.equal(u0?.length, 8);
  assert.equal(m.itemMatrix(['i0', 'i1']).length, 16);
  m.dispose();
});
