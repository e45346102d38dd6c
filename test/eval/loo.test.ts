import assert from 'node:assert/strict';
import { test } from 'node:test';
import { looMetrics, looSplit, nextItemExamples, phaseHistory, rankOf, spread } from '../../src/eval/loo.js';

test('split: last item test, the one before validation, the rest training; users under 3 items left out', () => {
  const users = looSplit([
    { userId: 'u', items: ['a', 'b', 'c', 'd'] },
    { userId: 'v', items: ['a', 'b'] },
  ]);
  assert.deepEqual(users, [{ userId: 'u', train: ['a', 'b'], valid: 'c', test: 'd' }]);
  assert.deepEqual(phaseHistory(users[0]!, 'valid'), ['a', 'b']);
  assert.deepEqual(phaseHistory(users[0]!, 'test'), ['a', 'b', 'c']);
});

test('next-item examples: every prefix of the training part, cut to the last maxHistory items', () => {
  const [u] = looSplit([{ userId: 'u', items: ['a', 'b', 'c', 'd', 'e'] }]);
  assert.deepEqual(nextItemExamples([u!], 2), [
    { history: ['a'], target: 'b' },
    { history: ['a', 'b'], target: 'c' },
  ]);
  assert.deepEqual(nextItemExamples([u!], 1)[1], { history: ['b'], target: 'c' });
});

test('rank over every item, ties broken by catalogue order; NaN ranks last', () => {
  const s = Float32Array.of(0.5, 0.9, 0.5, 0.1);
  assert.equal(rankOf(s, 1), 1);
  assert.equal(rankOf(s, 0), 2);
  assert.equal(rankOf(s, 2), 3, 'tied with item 0, which comes first');
  assert.equal(rankOf(s, 3), 4);
  assert.equal(rankOf(Float32Array.of(NaN, 1), 0), 2);
  assert.equal(rankOf(s, -1), 5, 'a target outside the catalogue is a miss');
});

test('Recall@K and NDCG@K of single targets; spread over seeds', () => {
  const m = looMetrics([1, 3, 15, 100]);
  assert.equal(m.recall10, 0.5);
  assert.equal(m.recall20, 0.75);
  assert.ok(Math.abs(m.ndcg10 - (1 + 1 / Math.log2(4)) / 4) < 1e-12);
  assert.ok(Math.abs(m.ndcg20 - (1 + 1 / Math.log2(4) + 1 / Math.log2(16)) / 4) < 1e-12);
  const s = spread([1, 2, 3]);
  assert.equal(s.mean, 2);
  assert.equal(s.sd, 1);
  assert.ok(Math.abs(s.ci95[1] - (2 + 4.303 / Math.sqrt(3))) < 1e-9);
});
