import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, test } from 'node:test';
import { redisUrl } from '../../src/config/load.js';
import { DecayedPopularity, popularityPrior } from '../../src/popularity/index.js';
import { ServeError } from '../../src/serve/errors.js';
import { listenOps as listen } from '../../src/ops/ops-server.js';
import { createHttpServer } from '../../src/serve/http-server.js';
import { Recommender, type Recommendations } from '../../src/serve/recommender.js';
import { VectorStore } from '../../src/store/vector-store.js';
import { dropPrefix, filled, randomVector, rng, uniquePrefix } from '../store/helpers.js';
import { ensureStack } from '../support/stack.js';

const prefix = uniquePrefix('serve');
const DIM = 24;
const N_ITEMS = 700;
let url: string;
let store: VectorStore;
let recommender: Recommender;
let version: number;
const items = new Map<string, Float32Array>();
const users = new Map<string, Float32Array>();
const seenByUser = new Map<string, string[]>();
/** When user-0's interactions begin (one ms apart). */
let seenFrom = 0;

before(async () => {
  url = redisUrl(await ensureStack());
  store = await VectorStore.open({ redisUrl: url, prefix });
  version = await store.beginVersion({ dim: DIM });
  const next = rng(42);
  for (let j = 0; j < N_ITEMS; j++) items.set(`item-${j}`, randomVector(DIM, next));
  for (let j = 0; j < 5; j++) users.set(`user-${j}`, randomVector(DIM, next));
  const t = Date.now();
  await store.writeItemVectors(version, [...items].map(([id, vector]) => ({ id, eventTime: t, vector })));
  await store.writeUserVectors(version, [...users].map(([id, vector]) => ({ id, eventTime: t, vector })));
  // user-0 interacted with its own 5 best items and 5 random ones: all must be excluded.
  const best = bruteForce(users.get('user-0') as Float32Array, 5, new Set()).map((s) => s.itemId);
  const seen = [...best, 'item-1', 'item-2', 'item-3', 'item-500', 'item-699'];
  seenByUser.set('user-0', seen);
  seenFrom = t;
  await store.recordInteractions(seen.map((itemId, j) => ({ userId: 'user-0', itemId, eventTime: t + j })));
  await store.publishVersion(version);
  // The inner product alone here; the popularity prior has its own test below.
  recommender = await Recommender.open({ redisUrl: url, prefix, refreshMs: 0, prior: 0 });
});
after(async () => {
  recommender.close();
  await store.close();
  await dropPrefix(url, prefix);
});

/** The expected answer, computed here from the vectors the test wrote (sort everything, no heap). */
function bruteForce(query: Float32Array, k: number, exclude: Set<string>): Array<{ itemId: string; score: number }> {
  return [...items]
    .filter(([id]) => !exclude.has(id))
    .map(([itemId, v]) => ({ itemId, score: v.reduce((s, x, j) => s + x * (query[j] as number), 0) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

function assertSameRanking(got: Recommendations, want: Array<{ itemId: string; score: number }>): void {
  assert.equal(got.version, version);
  assert.deepEqual(got.items.map((i) => i.itemId), want.map((i) => i.itemId));
  got.items.forEach((it, j) => assert.ok(Math.abs(it.score - (want[j]?.score ?? NaN)) < 1e-9, `score of ${it.itemId}`));
}

test('recommend is the exact top-K by inner product, without the items the user interacted with', async () => {
  for (const k of [1, 10, 50]) {
    for (const [userId, vector] of users) {
      const exclude = new Set(seenByUser.get(userId) ?? []);
      assertSameRanking(await recommender.recommend(userId, k), bruteForce(vector, k, exclude));
    }
  }
  const r = await recommender.recommend('user-0', 1000);
  assert.equal(r.items.length, N_ITEMS - 10);
  for (const id of seenByUser.get('user-0') ?? []) assert.ok(!r.items.some((i) => i.itemId === id), `${id} was seen`);
});

test("with a prior, recommend adds it times the items' normalised decayed popularity; similar does not", async () => {
  // The store above counts with the default half-life (7 days) and keeps it beside the counts for readers.
  const halfLife = 7 * 86_400_000;
  const withPrior = await Recommender.open({ redisUrl: url, prefix, refreshMs: 0, prior: 4 });
  try {
    // user-0's 10 interactions (before) counted once each, and 3 users without vectors on item-9, a half-life before.
    const t = seenFrom;
    await store.recordInteractions(['pop-a', 'pop-b', 'pop-c'].map((userId) => ({ userId, itemId: 'item-9', eventTime: t - halfLife })));
    const counts = new DecayedPopularity(halfLife);
    seenByUser.get('user-0')?.forEach((id, j) => counts.add(id, t + j));
    for (let j = 0; j < 3; j++) counts.add('item-9', t - halfLife);
    const ids = [...items.keys()];
    const prior = new Map(ids.map((id, j) => [id, popularityPrior(counts.scores(ids, t + 9))[j] as number]));
    assert.ok(Math.abs((prior.get('item-9') as number) - 1) < 1e-6, 'item-9, 1.5 decayed interactions, is the most popular');
    assert.ok(Math.abs((prior.get('item-1') as number) - Math.log(2) / Math.log(2.5)) < 1e-3, 'one interaction: log 2 / log 2.5 of the largest');
    for (const userId of ['user-1', 'user-4']) {
      const query = users.get(userId) as Float32Array;
      const exclude = new Set(seenByUser.get(userId) ?? []);
      const want = bruteForce(query, N_ITEMS, exclude)
        .map((s) => ({ itemId: s.itemId, score: s.score + 4 * (prior.get(s.itemId) as number) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 10);
      const got = await withPrior.recommend(userId, 10);
      assert.deepEqual(got.items.map((i) => i.itemId), want.map((i) => i.itemId), userId);
      got.items.forEach((it, j) => assert.ok(Math.abs(it.score - (want[j]?.score ?? NaN)) < 1e-5, `score of ${it.itemId}`));
      assert.ok(got.items.some((i) => seenByUser.get('user-0')?.includes(i.itemId)), 'the prior lifts what others interacted with');
    }
    assertSameRanking(await withPrior.similar('item-77', 10), bruteForce(items.get('item-77') as Float32Array, 10, new Set(['item-77'])));
  } finally {
    withPrior.close();
  }
});

test('similar is the exact top-K for an item, the item itself excluded', async () => {
  for (const itemId of ['item-0', 'item-77', 'item-699']) {
    const got = await recommender.similar(itemId, 20);
    assertSameRanking(got, bruteForce(items.get(itemId) as Float32Array, 20, new Set([itemId])));
    assert.ok(!got.items.some((i) => i.itemId === itemId));
  }
});

test('typed errors: unknown item, bad k, no model', async () => {
  await assert.rejects(recommender.similar('no-such-item', 10), (e: unknown) => e instanceof ServeError && e.code === 'unknown-item');
  for (const k of [0, 1001, -3, 2.5, 'abc', '']) {
    await assert.rejects(recommender.recommend('user-1', k), (e: unknown) => e instanceof ServeError && e.code === 'bad-k' && e.httpStatus === 400);
  }
  const empty = await Recommender.open({ redisUrl: url, prefix: uniquePrefix('serve-empty') });
  try {
    await assert.rejects(empty.recommend('user-1', 5), (e: unknown) => e instanceof ServeError && e.code === 'no-model' && e.httpStatus === 503);
    assert.equal((await empty.readiness()).ready, false);
  } finally {
    empty.close();
  }
});

test('a new item is servable right after it is written (cold start), without a version switch', async () => {
  const query = users.get('user-2') as Float32Array;
  // Aligned with user-2 and far longer than any other vector: it must rank first.
  const fresh = Float32Array.from(query, (x) => x * 100);
  await store.writeItemVectors(version, [{ id: 'item-new', eventTime: Date.now(), vector: fresh }]);
  items.set('item-new', fresh);
  const r = await recommender.recommend('user-2', 10);
  assert.equal(r.items[0]?.itemId, 'item-new');
  assertSameRanking(r, bruteForce(query, 10, new Set()));
  // similar on an item the index may not hold yet reads it directly.
  const late = filled(DIM, 0.5);
  await store.writeItemVectors(version, [{ id: 'item-late', eventTime: Date.now(), vector: late }]);
  assert.equal((await recommender.similar('item-late', 3)).items.length, 3);
  items.set('item-late', late);
});

// Issue 11, smaller items: an ItemContent tombstone never removed the item from Redis or the serving index.
test('a delisted item leaves the served index and similar(); a late older write cannot bring it back', async () => {
  const query = users.get('user-3') as Float32Array;
  const gone = Float32Array.from(query, (x) => x * 100);
  const writtenAt = Date.now();
  await store.writeItemVectors(version, [{ id: 'item-gone', eventTime: writtenAt, vector: gone }]);
  assert.equal((await recommender.recommend('user-3', 5)).items[0]?.itemId, 'item-gone');
  assert.equal(await store.deleteItemVectors(version, ['item-gone', 'never-there'], writtenAt + 1), 1);
  assert.ok(!(await recommender.recommend('user-3', 50)).items.some((i) => i.itemId === 'item-gone'));
  await assert.rejects(recommender.similar('item-gone', 3), (e: unknown) => e instanceof ServeError && e.code === 'unknown-item');
  await store.writeItemVectors(version, [{ id: 'item-gone', eventTime: writtenAt, vector: gone }]);
  await assert.rejects(recommender.similar('item-gone', 3), (e: unknown) => e instanceof ServeError && e.code === 'unknown-item');
  assertSameRanking(await recommender.recommend('user-3', 10), bruteForce(query, 10, new Set()));
});

test('HTTP answers what the library answers, and JSON errors with 404/400', async () => {
  const server: Server = createHttpServer(recommender);
  const addr = await listen(server, 0, '127.0.0.1');
  const base = `http://127.0.0.1:${addr.port}`;
  try {
    const recs = await fetch(`${base}/v1/users/user-0/recommendations?k=7`);
    assert.equal(recs.status, 200);
    assert.deepEqual(await recs.json(), JSON.parse(JSON.stringify(await recommender.recommend('user-0', 7))));
    const sim = await fetch(`${base}/v1/items/item-5/similar?k=4`);
    assert.deepEqual(await sim.json(), JSON.parse(JSON.stringify(await recommender.similar('item-5', 4))));
    const dflt = (await (await fetch(`${base}/v1/users/user-1/recommendations`)).json()) as Recommendations;
    assert.equal(dflt.items.length, 10);

    const cases: Array<[string, number, string]> = [
      ['/v1/items/nothing/similar', 404, 'unknown-item'],
      ['/v1/users/user-0/recommendations?k=0', 400, 'bad-k'],
      ['/v1/users/user-0/recommendations?k=5000', 400, 'bad-k'],
      ['/v1/items/item-1/similar?k=x', 400, 'bad-k'],
      ['/v1/elsewhere', 404, 'not-found'],
      ['/v1/users/%E0%A4%A/recommendations', 400, 'bad-id'],
      ['/v1/items/100%/similar', 400, 'bad-id'],
    ];
    for (const [path, status, code] of cases) {
      const res = await fetch(base + path);
      assert.equal(res.status, status, path);
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, code, path);
      assert.ok(body.error.message.length > 0);
    }

    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { ready: true, version });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /learn_store_vector_freshness_seconds_bucket/);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
