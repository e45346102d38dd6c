import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildPalBatch, type ItemRef, type UserExample } from '../../src/model/batch.js';
import { palConfig } from '../../src/model/config.js';
import { PalLearner } from '../../src/model/learner.js';
import { Rng } from '../../src/model/rng.js';
import { randomUnit, useWasm } from './helpers.js';

before(useWasm);

// Users follow a hidden item-to-item rule: the next item is a fixed permutation of the current one, with some noise.
// Only the content vectors identify items, so the towers must learn the rule through them.
const ITEMS = 200;
const NOISE = 0.2;
const HISTORY = 8;
const STEPS = 600;
const USERS_PER_BATCH = 32;

const cfg = palConfig({
  contentDim: 32,
  dim: 64,
  layers: 1,
  heads: 2,
  outDim: 32,
  maxHistory: HISTORY,
  dropout: 0,
  historySamples: 4,
  targetSamples: 2,
});

test('loss falls and next-item Recall@10 rises far above chance on a learnable stream', () => {
  const rng = new Rng(2024);
  const items: ItemRef[] = Array.from({ length: ITEMS }, (_, i) => ({ itemId: `i${i}`, content: randomUnit(rng, cfg.contentDim) }));
  const next = rng.sampleIndices(ITEMS, ITEMS);
  for (let i = ITEMS - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [next[i], next[j]] = [next[j]!, next[i]!];
  }
  const walk = (length: number): number[] => {
    const seq = [rng.int(ITEMS)];
    while (seq.length < length) seq.push(rng.next() < NOISE ? rng.int(ITEMS) : next[seq[seq.length - 1]!]!);
    return seq;
  };
  const example = (): UserExample => {
    const seq = walk(HISTORY + 2);
    return { history: seq.slice(0, HISTORY).map((i) => items[i]!), targets: seq.slice(HISTORY).map((i) => items[i]!) };
  };

  // Held-out users: the true next item follows the rule without noise.
  const evalUsers = Array.from({ length: 200 }, () => walk(HISTORY));
  const recallAt10 = (learner: PalLearner): number => {
    const itemVecs = learner.itemVectors(items.map((i) => i.content));
    const userVecs = learner.userVectors(evalUsers.map((s) => s.map((i) => items[i]!.content)));
    let hits = 0;
    userVecs.forEach((u, n) => {
      const truth = next[evalUsers[n]![HISTORY - 1]!]!;
      const score = (v: Float32Array) => v.reduce((s, x, k) => s + x * (u[k] as number), 0);
      const truthScore = score(itemVecs[truth]!);
      const better = itemVecs.filter((v, k) => k !== truth && score(v) > truthScore).length;
      if (better < 10) hits++;
    });
    return hits / evalUsers.length;
  };

  const learner = new PalLearner(cfg, 7);
  const started = Date.now();
  const recallBefore = recallAt10(learner);
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    losses.push(learner.trainStep(buildPalBatch(Array.from({ length: USERS_PER_BATCH }, example), cfg, learner.rng)));
  }
  const recallAfter = recallAt10(learner);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(losses.slice(0, 20));
  const last = mean(losses.slice(-50));
  // A tower that ignores content scores every target alike: loss = ln(1 + negatives), 62 negatives per positive here.
  const uninformed = Math.log(1 + (USERS_PER_BATCH - 1) * cfg.targetSamples);
  const chance = 10 / ITEMS;
  console.log(
    JSON.stringify({ steps: STEPS, seconds: (Date.now() - started) / 1000, lossFirst20: first, lossLast50: last, uninformed, recallBefore, recallAfter, chance }),
  );
  assert.ok(last < first - 0.5, `loss ${first} -> ${last}`);
  assert.ok(last < uninformed - 0.2, `loss ${last} is not below the uninformed level ${uninformed}`);
  assert.ok(recallAfter > 5 * chance, `Recall@10 ${recallAfter} vs chance ${chance}`);
  assert.ok(recallAfter > recallBefore + 0.2);
  learner.dispose();
});
