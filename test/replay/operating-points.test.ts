import assert from 'node:assert/strict';
import { test } from 'node:test';
import { popularityPrior } from '../../src/popularity/index.js';
import { coldFade, operatingGrid, rankAt } from '../../src/replay/operating-points.js';
import { ListedCatalogue } from '../../src/replay/protocol.js';
import { compareRuns } from '../../src/replay/compare.js';
import type { ItemListing } from '../../src/codec/index.js';

test('rankAt: the method\'s score plus the prior and the cold boost, pessimistic ties, exclusions', () => {
  const base = Float32Array.of(0.5, 0.4, 0.4, 0.1);
  const none = new Uint8Array(4);
  const terms = { prior: Float32Array.of(0, 0, 1, 0), content: Float32Array.of(0, 0, 0, 1) };
  assert.equal(rankAt(base, terms, { beta: 0, contentWeight: 0 }, 1, none), 3, 'the tie with item 2 counts against the target');
  assert.equal(rankAt(base, terms, { beta: 0.2, contentWeight: 0 }, 2, none), 1, 'the prior lifts item 2 above item 0');
  assert.equal(rankAt(base, terms, { beta: 0, contentWeight: 1 }, 3, none), 1, 'the content term lifts item 3');
  assert.equal(rankAt(base, terms, { beta: 0, contentWeight: 0 }, 3, Uint8Array.of(1, 1, 0, 0)), 2, 'excluded items never rank ahead');
  assert.equal(rankAt(Float32Array.of(Number.NaN, 1, 2), { prior: new Float32Array(3) }, { beta: 0, contentWeight: 0 }, 0, new Uint8Array(3)), 3);
});

test('the cold gate mixes LEARN\'s score with the content cosine by max(0, 1 - max(n, 1) / k): no item is special for having no interactions', () => {
  assert.equal(coldFade(0, 10), coldFade(1, 10), 'none is gated exactly like one');
  assert.ok(Math.abs(coldFade(1, 10) - 0.9) < 1e-12);
  assert.ok(Math.abs(coldFade(5, 10) - 0.5) < 1e-12);
  assert.equal(coldFade(10, 10), 0);
  assert.equal(coldFade(50, 10), 0);
  const base = Float32Array.of(0.9, 0.5, 0.2);
  const content = Float32Array.of(0.1, 0.2, 0.95);
  const none = new Uint8Array(3);
  // Item 2 has one interaction (or none: the same), items 0 and 1 many.
  const terms = { prior: new Float32Array(3), content, interactions: Float32Array.of(100, 100, 1) };
  assert.equal(rankAt(base, terms, { beta: 0, contentWeight: 0 }, 2, none), 3);
  // a = 1 x (1 - 1/2) = 0.5: 0.5 x 0.2 + 0.5 x 0.95 = 0.575, above item 1 (0.5), below item 0 (0.9).
  assert.equal(rankAt(base, terms, { beta: 0, contentWeight: 0, coldMix: 1, coldGateK: 2 }, 2, none), 2);
  assert.equal(rankAt(base, { ...terms, interactions: Float32Array.of(100, 100, 0) }, { beta: 0, contentWeight: 0, coldMix: 1, coldGateK: 2 }, 2, none), 2, 'no interactions: the same rank');
  assert.equal(rankAt(base, terms, { beta: 0, contentWeight: 0, coldMix: 1, coldGateK: 1 }, 2, none), 3, 'faded out at k');
  assert.equal(rankAt(base, { prior: terms.prior, content }, { beta: 0, contentWeight: 0, coldMix: 1, coldGateK: 2 }, 2, none), 3, 'no counts, no gate (the baselines)');
  // The boost adds 1 x 0.5 x 0.95 = 0.475 to item 2's own 0.2: 0.675, still below item 0.
  assert.equal(rankAt(base, terms, { beta: 0, contentWeight: 0, coldBoost: 1, coldGateK: 2 }, 2, none), 2);
  assert.equal(rankAt(base, terms, { beta: 0, contentWeight: 0, coldBoost: 2, coldGateK: 2 }, 2, none), 1);
  assert.equal(rankAt(base, { ...terms, interactions: Float32Array.of(100, 100, 2) }, { beta: 0, contentWeight: 0, coldBoost: 2, coldGateK: 2 }, 2, none), 3, 'faded out at k');
  assert.ok(operatingGrid('content').some((q) => (q.coldMix ?? 0) > 0) && operatingGrid('history').every((q) => q.coldMix === undefined));
});

test('the prior is log(1 + popularity) scaled to [0, 1]; only LEARN gets the content term', () => {
  const p = popularityPrior(Float32Array.of(0, 1, 3));
  assert.equal(p[0], 0);
  assert.ok(Math.abs((p[2] as number) - 1) < 1e-6);
  assert.ok(Math.abs((p[1] as number) - Math.log(2) / Math.log(4)) < 1e-6);
  assert.ok(operatingGrid('content').length > operatingGrid('history').length);
  assert.ok(operatingGrid('history').every((q) => q.contentWeight === 0));
});

test('the listed catalogue: items listed by a time that have content, in listing order, as candidates and as the negative pool', () => {
  const listing = (id: string, t: number): ItemListing => ({ item_id: id, title: id, category: null, brand: null, price: null, keywords: null, attributes: null, listed_at: t });
  const c = new ListedCatalogue([listing('b', 20), listing('a', 10), listing('c', 30), listing('d', 20)]);
  const has = new Set(['a', 'b', 'c']);
  assert.deepEqual(c.available(5, { has: (id) => has.has(id) }), []);
  assert.deepEqual(c.available(20, { has: (id) => has.has(id) }), ['a', 'b'], 'd has no content; c is listed later');
  assert.deepEqual(c.available(100, { has: (id) => has.has(id) }), ['a', 'b', 'c']);
  assert.equal(c.listedAt('d'), 20);
});

test('compareRuns: paired difference over shared users with a bootstrap interval around it', () => {
  const a = { u1: [10, 1, 0.5, 2, 0], u2: [10, 2, 1, 0, 0], u3: [5, 0, 0, 5, 0] } as Record<string, [number, number, number, number, number]>;
  const b = { u1: [10, 3, 1.5, 2, 1], u2: [10, 2, 1, 0, 0], u3: [5, 1, 0.5, 5, 2], u9: [4, 4, 4, 0, 0] } as Record<string, [number, number, number, number, number]>;
  const c = compareRuns(a, b, 500, 3);
  assert.equal(c.recall10.users, 3, 'u9 is in b only');
  assert.ok(Math.abs(c.recall10.a - 3 / 25) < 1e-12 && Math.abs(c.recall10.b - 6 / 25) < 1e-12);
  assert.ok(Math.abs(c.recall10.delta - 3 / 25) < 1e-12);
  assert.ok(c.recall10.ci95[0] <= c.recall10.delta && c.recall10.delta <= c.recall10.ci95[1]);
  assert.ok(Math.abs(c.coldRecall10.b - 3 / 7) < 1e-12);
  const same = compareRuns(a, a, 200, 3);
  assert.deepEqual([same.recall10.delta, ...same.recall10.ci95], [0, 0, 0]);
});
