import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildPalBatch, type ItemRef, type PalBatch, type UserExample } from '../../src/model/batch.js';
import { PalLearner } from '../../src/model/learner.js';
import { Rng } from '../../src/model/rng.js';
import { maxAbsDiff, randomUnit, tinyConfig, useWasm } from './helpers.js';

before(useWasm);

const cfg = tinyConfig({ dropout: 0.1 });

function catalogue(rng: Rng, n: number): ItemRef[] {
  return Array.from({ length: n }, (_, i) => ({ itemId: `item${i}`, content: randomUnit(rng, cfg.contentDim) }));
}

function examples(rng: Rng, items: ItemRef[], users: number): UserExample[] {
  const pick = () => items[rng.int(items.length)] as ItemRef;
  return Array.from({ length: users }, () => ({
    history: Array.from({ length: 1 + rng.int(12) }, pick), // some longer than maxHistory, some length 1
    targets: Array.from({ length: 1 + rng.int(3) }, pick),
  }));
}

test('buildPalBatch: right-aligned histories, last position always sampled, at most N_h / N_t, empties dropped', () => {
  const rng = new Rng(1);
  const items = catalogue(rng, 20);
  const exs = [...examples(rng, items, 5), { history: [], targets: [items[0]!] }, { history: [items[1]!], targets: [] }];
  const batch = buildPalBatch(exs, cfg, rng);
  assert.equal(batch.users, 5);
  assert.ok(batch.seqLen <= cfg.maxHistory);
  for (let b = 0; b < batch.users; b++) {
    assert.equal(batch.historyMask[b * batch.seqLen + batch.seqLen - 1], 1);
    const slots = Array.from(batch.samplePositions.slice(b * cfg.historySamples, (b + 1) * cfg.historySamples));
    assert.ok(slots.includes(batch.seqLen - 1));
    for (const p of slots) if (p >= 0) assert.equal(batch.historyMask[b * batch.seqLen + p], 1);
    const t = Array.from(batch.targetUsers).filter((u) => u === b).length;
    assert.ok(t >= 1 && t <= cfg.targetSamples);
  }
});

test('buildPalBatch with a pool: distinct uniform catalogue negatives, the whole pool when it is small', () => {
  const rng = new Rng(3);
  const items = catalogue(rng, 30);
  const pool = { size: items.length, at: (i: number) => items[i]! };
  const exs = examples(rng, items, 3);
  const some = buildPalBatch(exs, tinyConfig({ negativeSamples: 10 }), rng, pool);
  assert.equal(some.negativeItems.length, 10);
  assert.equal(new Set(some.negativeItems).size, 10);
  some.negativeItems.forEach((id, k) => {
    const item = items.find((i) => i.itemId === id)!;
    assert.deepEqual(Array.from(some.negativeContent.slice(k * cfg.contentDim, (k + 1) * cfg.contentDim)), Array.from(item.content));
  });
  assert.deepEqual(new Set(buildPalBatch(exs, tinyConfig({ negativeSamples: 50 }), rng, pool).negativeItems), new Set(items.map((i) => i.itemId)));
  assert.equal(buildPalBatch(exs, tinyConfig({ negativeSamples: 0 }), rng, pool).negativeItems.length, 0);
  assert.equal(buildPalBatch(exs, tinyConfig({ negativeSamples: 10 }), rng).negativeItems.length, 0);
});

test('a one-user window trains when catalogue negatives are sampled, and is skipped without them', () => {
  const rng = new Rng(4);
  const items = catalogue(rng, 30);
  const pool = { size: items.length, at: (i: number) => items[i]! };
  const one = examples(rng, items, 1);
  const learner = new PalLearner(cfg, 3);
  assert.equal(learner.trainStep(buildPalBatch(one, cfg, rng)), 0);
  assert.equal(learner.step, 0);
  const before = learner.itemVectors([items[0]!.content])[0]!;
  const loss = learner.trainStep(buildPalBatch(one, tinyConfig({ dropout: 0.1, negativeSamples: 16 }), rng, pool));
  assert.ok(loss > 0 && Number.isFinite(loss));
  assert.equal(learner.step, 1);
  assert.ok(maxAbsDiff(before, learner.itemVectors([items[0]!.content])[0]!) > 0);
  learner.dispose();
});

test('trainStep leaks no tensors over 20 steps', () => {
  const rng = new Rng(2);
  const items = catalogue(rng, 40);
  const learner = new PalLearner(cfg, 9);
  const pool = { size: items.length, at: (i: number) => items[i]! };
  const batches = Array.from({ length: 4 }, () => buildPalBatch(examples(rng, items, 6), tinyConfig({ dropout: 0.1, negativeSamples: 8 }), rng, pool));
  assert.equal(batches[0]!.negativeItems.length, 8);
  learner.trainStep(batches[0]!);
  const baseline = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) {
    const loss = learner.trainStep(batches[i % batches.length]!);
    assert.ok(Number.isFinite(loss));
    assert.equal(tf.memory().numTensors, baseline, `step ${i}`);
  }
  learner.userVectors([[items[0]!.content, items[1]!.content]]);
  learner.itemVectors(items.map((i) => i.content));
  assert.equal(tf.memory().numTensors, baseline);
  assert.equal(learner.step, 21);
  learner.dispose();
});

test('training is deterministic for a seed, and a restored state continues exactly', () => {
  const rng = new Rng(3);
  const items = catalogue(rng, 30);
  const batches: PalBatch[] = Array.from({ length: 3 }, () => buildPalBatch(examples(rng, items, 5), tinyConfig(), rng));
  const a = new PalLearner(tinyConfig(), 5);
  const b = new PalLearner(tinyConfig(), 5);
  const la = batches.map((x) => a.trainStep(x));
  const lb = batches.map((x) => b.trainStep(x));
  assert.deepEqual(la, lb);

  const c = new PalLearner(tinyConfig(), 99);
  c.setState(a.getState());
  assert.equal(c.step, 3);
  const next = batches[0]!;
  assert.equal(c.trainStep(next), a.trainStep(next));
  const wa = a.model.getWeights();
  const wc = c.model.getWeights();
  for (const k of Object.keys(wa)) assert.ok(maxAbsDiff(wa[k]!.values, wc[k]!.values) < 1e-7, k);
  for (const l of [a, b, c]) l.dispose();
});

test('a single-user batch has no negatives and is not applied', () => {
  const rng = new Rng(4);
  const items = catalogue(rng, 10);
  const learner = new PalLearner(cfg, 1);
  const batch = buildPalBatch(examples(rng, items, 1), cfg, rng);
  assert.equal(learner.trainStep(batch), 0);
  assert.equal(learner.step, 0);
  learner.dispose();
});

test('a user whose history is one item gets that item\'s vector (shared towers), also when every history in the call has length 1', () => {
  const rng = new Rng(9);
  const items = catalogue(rng, 4);
  const learner = new PalLearner(cfg, 3);
  const users = learner.userVectors([[items[0]!.content], [items[1]!.content]]);
  const itemVecs = learner.itemVectors([items[0]!.content, items[1]!.content]);
  assert.ok(maxAbsDiff(users[0]!, itemVecs[0]!) < 1e-5);
  assert.ok(maxAbsDiff(users[1]!, itemVecs[1]!) < 1e-5);
  learner.dispose();
});

test('user vectors do not depend on the inference chunking (bounded chunks, per-block tidy) and leak no tensors', () => {
  const rng = new Rng(11);
  const items = catalogue(rng, 30);
  const learner = new PalLearner(cfg, 5);
  const hs = examples(rng, items, 700).map((e) => e.history.map((r) => r.content));
  const before = tf.memory().numTensors;
  const all = learner.userVectors(hs); // several chunks (userChunkRows)
  const one = hs.slice(600).map((h) => learner.userVectors([h])[0] as Float32Array);
  assert.equal(tf.memory().numTensors, before);
  one.forEach((v, i) => assert.ok(maxAbsDiff(v, all[600 + i] as Float32Array) < 1e-5));
  learner.dispose();
});

// Issue 14, the logQ lever: the correction reads how often each item was a target before the step.
test('logQ: the first step (no counts yet: one bias for every candidate) equals the uncorrected one; later steps differ', () => {
  const rng = new Rng(4);
  const items = catalogue(rng, 30);
  const pool = { size: items.length, at: (i: number) => items[i]! };
  const sampling = tinyConfig({ dropout: 0, negativeSamples: 6 });
  const batches = Array.from({ length: 3 }, () => buildPalBatch(examples(rng, items, 5), sampling, rng, pool));
  assert.equal(batches[0]!.poolSize, 30);
  const losses = (logQ: number) => {
    const learner = new PalLearner(tinyConfig({ dropout: 0, logQ }), 3);
    const out = batches.map((b) => learner.trainStep(b));
    learner.dispose();
    return out;
  };
  const off = losses(0);
  const on = losses(1);
  assert.ok(Math.abs(on[0]! - off[0]!) < 1e-5, `first step: ${on[0]} vs ${off[0]}`);
  assert.ok(Math.abs(on[2]! - off[2]!) > 1e-4, `third step: ${on[2]} vs ${off[2]}`);
});

// Issue 22 item 7: with LEARN_UNIFORMITY the towers' outputs spread out where the contrastive loss alone leaves them.
test('uniformity: steps with the term spread item vectors more than the same steps without it', () => {
  const rng = new Rng(7);
  const items = catalogue(rng, 40);
  const pool = { size: items.length, at: (i: number) => items[i]! };
  const sampling = tinyConfig({ dropout: 0, negativeSamples: 8 });
  const batches = Array.from({ length: 15 }, () => buildPalBatch(examples(rng, items, 6), sampling, rng, pool));
  const meanCosine = (uniformity: number): number => {
    const learner = new PalLearner(tinyConfig({ dropout: 0, uniformity }), 3);
    for (const b of batches) assert.ok(Number.isFinite(learner.trainStep(b)));
    const v = learner.itemVectors(items.map((i) => i.content));
    learner.dispose();
    let s = 0;
    for (let a = 0; a < v.length; a++) for (let b = a + 1; b < v.length; b++) s += v[a]!.reduce((t, x, d) => t + x * v[b]![d]!, 0);
    return s / ((v.length * (v.length - 1)) / 2);
  };
  const off = meanCosine(0);
  const on = meanCosine(1);
  assert.ok(on < off - 0.02, `mean item cosine ${off} without, ${on} with the term`);
});

test('a step whose loss or gradients are not finite is skipped and counted: weights unchanged, no tensor leaked (issue 23 item 8)', () => {
  const rng = new Rng(6);
  const items = catalogue(rng, 30);
  const pool = { size: items.length, at: (i: number) => items[i]! };
  const learner = new PalLearner(cfg, 5);
  const batchCfg = tinyConfig({ dropout: 0.1, negativeSamples: 8 });
  assert.ok(Number.isFinite(learner.trainStep(buildPalBatch(examples(rng, items, 4), batchCfg, rng, pool))));
  const baseline = tf.memory().numTensors;
  const before = learner.itemVectors(items.map((i) => i.content));
  const poisoned = buildPalBatch(examples(rng, items, 4), batchCfg, rng, pool);
  poisoned.targetContent[0] = Number.NaN;
  assert.ok(Number.isNaN(learner.trainStep(poisoned)), 'the skipped step reports its loss as NaN');
  assert.equal(learner.skippedSteps, 1);
  assert.equal(learner.step, 1, 'the optimizer did not step');
  const after = learner.itemVectors(items.map((i) => i.content));
  assert.equal(Math.max(...after.map((v, j) => maxAbsDiff(v, before[j]!))), 0, 'weights unchanged');
  assert.ok(after.every((v) => v.every(Number.isFinite)));
  assert.equal(tf.memory().numTensors, baseline);
  learner.dispose();
});
