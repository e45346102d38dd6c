import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DAY_MS } from '../../src/config/constants.js';
import { RankingMetrics, slicesOf } from '../../src/replay/metrics-accumulator.js';
import { ndcgAtK, rankOf, recallAtK, reciprocalRank } from '../../src/replay/metrics.js';

const close = (actual: number, expected: number, what = ''): void =>
  assert.ok(Math.abs(actual - expected) < 1e-12, `${what} ${actual} != ${expected}`);

test('Recall@K, NDCG@K and reciprocal rank of single ranks, by hand', () => {
  assert.equal(recallAtK(1, 10), 1);
  assert.equal(recallAtK(10, 10), 1);
  assert.equal(recallAtK(11, 10), 0);
  assert.equal(ndcgAtK(1, 10), 1); // 1/log2(2)
  assert.equal(ndcgAtK(3, 10), 0.5); // 1/log2(4)
  assert.equal(ndcgAtK(7, 10), 1 / 3); // 1/log2(8)
  close(ndcgAtK(2, 10), 0.6309297535714575); // 1/log2(3)
  assert.equal(ndcgAtK(11, 10), 0);
  assert.equal(reciprocalRank(4), 0.25);
  // Not ranked at all: a miss everywhere.
  assert.equal(recallAtK(Infinity, 10), 0);
  assert.equal(ndcgAtK(Infinity, 10), 0);
  assert.equal(reciprocalRank(Infinity), 0);
  assert.throws(() => recallAtK(0, 10), RangeError);
  assert.throws(() => ndcgAtK(1.5, 10), RangeError);
  assert.throws(() => recallAtK(1, 0), RangeError);
});

test('means over a hand-made list of ranks', () => {
  const m = new RankingMetrics({ ks: [1, 3], window: { by: 'events', size: 2 } });
  for (const rank of [1, 3, 7, 2]) m.add({ rank, itemInteractionsBefore: 10, userEventsBefore: 10, eventTime: 0 });
  const r = m.report();
  assert.equal(r.overall.events, 4);
  // Recall@1: only rank 1 -> 1/4. Recall@3: ranks 1, 3, 2 -> 3/4.
  assert.equal(r.overall.recall['1'], 0.25);
  assert.equal(r.overall.recall['3'], 0.75);
  // NDCG@3: (1 + 0.5 + 0 + 1/log2(3)) / 4.
  close(r.overall.ndcg['3']!, (1 + 0.5 + 0 + 1 / Math.log2(3)) / 4, 'ndcg@3');
  assert.equal(r.overall.ndcg['1'], 0.25);
  // MRR: (1 + 1/3 + 1/7 + 1/2) / 4.
  close(r.overall.mrr, (1 + 1 / 3 + 1 / 7 + 1 / 2) / 4, 'mrr');
  // Windows of 2 events: ranks [1, 3] then [7, 2].
  assert.deepEqual(
    r.windows.map((w) => [w.index, w.events, w.recall['3'], w.mrr]),
    [
      [0, 2, 1, (1 + 1 / 3) / 2],
      [1, 2, 0.5, (1 / 7 + 1 / 2) / 2],
    ],
  );
});

test('slices: cold item (< 5 earlier interactions, none included), new item, cold user, warm; they overlap', () => {
  assert.deepEqual(slicesOf({ itemInteractionsBefore: 0, userEventsBefore: 0 }), ['coldItem', 'newItem', 'coldUser']);
  assert.deepEqual(slicesOf({ itemInteractionsBefore: 4, userEventsBefore: 5 }), ['coldItem']);
  assert.deepEqual(slicesOf({ itemInteractionsBefore: 5, userEventsBefore: 4 }), ['coldUser']);
  assert.deepEqual(slicesOf({ itemInteractionsBefore: 5, userEventsBefore: 5 }), ['warm']);
  assert.deepEqual(slicesOf({ itemInteractionsBefore: 2, userEventsBefore: 2 }, 2), ['warm']);

  const m = new RankingMetrics({ ks: [10] });
  m.add({ rank: 1, itemInteractionsBefore: 0, userEventsBefore: 9, eventTime: 0 }); // new (cold) item, warm user
  m.add({ rank: 20, itemInteractionsBefore: 3, userEventsBefore: 1, eventTime: 0 }); // cold item, cold user
  m.add({ rank: 2, itemInteractionsBefore: 50, userEventsBefore: 50, eventTime: 0 }); // warm
  m.add({ rank: 4, itemInteractionsBefore: 50, userEventsBefore: 0, eventTime: 0 }); // cold user
  const s = m.report().slices;
  assert.deepEqual([s.coldItem.events, s.newItem.events, s.coldUser.events, s.warm.events], [2, 1, 2, 1]);
  assert.equal(s.coldItem.recall['10'], 0.5); // ranks 1, 20
  assert.equal(s.newItem.mrr, 1);
  close(s.coldUser.mrr, (1 / 20 + 1 / 4) / 2, 'coldUser mrr');
  assert.equal(s.warm.ndcg['10'], 1 / Math.log2(3));
  assert.equal(m.report().overall.events, 4);
});

test('time windows: per UTC day of event time, in order, with their spans', () => {
  const m = new RankingMetrics({ ks: [5], window: { by: 'time', ms: DAY_MS } });
  const day = (d: number, hour: number): number => d * DAY_MS + hour * 3_600_000;
  m.add({ rank: 1, itemInteractionsBefore: 9, userEventsBefore: 9, eventTime: day(100, 23) });
  m.add({ rank: 6, itemInteractionsBefore: 9, userEventsBefore: 9, eventTime: day(101, 0) });
  m.add({ rank: 5, itemInteractionsBefore: 9, userEventsBefore: 9, eventTime: day(100, 1) }); // late arrival
  const w = m.report().windows;
  assert.deepEqual(
    w.map((x) => [x.index, x.start, x.end, x.events, x.recall['5']]),
    [
      [100, 100 * DAY_MS, 101 * DAY_MS, 2, 1],
      [101, 101 * DAY_MS, 102 * DAY_MS, 1, 0],
    ],
  );
});

test('a bad observation is refused and changes nothing', () => {
  const m = new RankingMetrics();
  assert.throws(() => m.add({ rank: 0, itemInteractionsBefore: 0, userEventsBefore: 0, eventTime: 0 }), RangeError);
  assert.throws(() => m.add({ rank: 1, itemInteractionsBefore: -1, userEventsBefore: 0, eventTime: 0 }), RangeError);
  assert.equal(m.events, 0);
  assert.deepEqual(m.report().windows, []);
  assert.throws(() => new RankingMetrics({ ks: [] }), RangeError);
  assert.throws(() => new RankingMetrics({ window: { by: 'events', size: 0 } }), RangeError);
});

test('rankOf: 1 + candidates scoring higher, excluded ones skipped', () => {
  const scores = Float32Array.from([0.1, 0.9, 0.5, 0.7, 0.3]);
  assert.equal(rankOf(scores, 1), 1);
  assert.equal(rankOf(scores, 2), 3); // 0.9 and 0.7 ahead
  assert.equal(rankOf(scores, 2, new Set([1, 3])), 1);
  assert.equal(rankOf(scores, 0, new Set([4])), 4);
  // The target competes even when the exclusion set holds it.
  assert.equal(rankOf(scores, 3, new Set([3])), 2);
  assert.throws(() => rankOf(scores, 5), RangeError);
});

test('rankOf: ties are broken pessimistically; NaN never helps', () => {
  const tied = Float32Array.from([0.5, 0.5, 0.5, 0.2]);
  assert.equal(rankOf(tied, 0), 3);
  assert.equal(rankOf(tied, 1), 3);
  assert.equal(rankOf(tied, 1, new Set([0])), 2);
  // A constant model gets the worst rank, not the best.
  assert.equal(rankOf(new Float32Array(100), 42), 100);
  assert.equal(rankOf(Float32Array.from([NaN, 0.1, 0.2]), 1), 2); // NaN candidate not ahead
  assert.equal(rankOf(Float32Array.from([NaN, 0.1, 0.2]), 0), 3); // NaN target last
});
