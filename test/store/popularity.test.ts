import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { redisUrl } from '../../src/config/load.js';
import { DecayedPopularity } from '../../src/popularity/index.js';
import { StoreKeys } from '../../src/store/keys.js';
import { PopularityReader, readPopularity } from '../../src/store/popularity.js';
import { VectorStore } from '../../src/store/vector-store.js';
import { ensureStack } from '../support/stack.js';
import { dropPrefix, rng, uniquePrefix } from './helpers.js';

const prefix = uniquePrefix('store-pop');
const keys = new StoreKeys(prefix);
const HALF_LIFE = 3_600_000;
let url: string;
let store: VectorStore;

before(async () => {
  url = redisUrl(await ensureStack());
  // Never pruned here: the counts are compared with DecayedPopularity's, which keeps every item (pruning has its own test).
  store = await VectorStore.open({ redisUrl: url, prefix, popularityHalfLifeMs: HALF_LIFE, popularityPruneBelow: 0 });
});
after(async () => {
  await store.close();
  await dropPrefix(url, prefix);
});

test("the store's popularity counts equal DecayedPopularity's over the same interactions, out of order included", async () => {
  const next = rng(7);
  const t0 = 1_700_000_000_000;
  // 300 interactions of 40 users with 12 items over 10 hours (10 half-lives), sent in shuffled batches of 25.
  const interactions = Array.from({ length: 300 }, (_, j) => ({ userId: `u${j % 40}`, itemId: `i${Math.floor(next() ** 2 * 12)}`, eventTime: t0 + Math.floor(next() * 36_000_000) }));
  const want = new DecayedPopularity(HALF_LIFE);
  // A user's repeat of an item at a later time counts again; what ZADD GT refuses (an older time) does not.
  const latest = new Map<string, number>();
  for (let at = 0; at < interactions.length; at += 25) await store.recordInteractions(interactions.slice(at, at + 25));
  for (const x of interactions) {
    const k = `${x.userId}/${x.itemId}`;
    if ((latest.get(k) ?? -1) >= x.eventTime) continue;
    latest.set(k, x.eventTime);
    want.add(x.itemId, x.eventTime);
  }
  const read = await readPopularity(store.redis, keys);
  assert.equal(read?.halfLifeMs, HALF_LIFE, 'the half-life is kept with the counts');
  const got = read!.counts;
  const now = Math.max(...[...got.values()].map((c) => c.at));
  const ids = [...got.keys()].sort();
  const expected = want.scores(ids, now);
  assert.ok(ids.length >= 8, `items counted: ${ids.join(', ')}`);
  ids.forEach((id, j) => {
    const c = got.get(id)!;
    const decayed = c.count * 2 ** (-(now - c.at) / HALF_LIFE);
    assert.ok(Math.abs(decayed - (expected[j] as number)) <= 1e-5 * Math.max(1, expected[j] as number), `${id}: store ${decayed}, DecayedPopularity ${expected[j]}`);
  });
});

test('an interaction sent again (a window re-sent after a crash) counts nothing twice', async () => {
  const t = 1_700_000_000_000;
  const once = [
    { userId: 'a', itemId: 'x', eventTime: t },
    { userId: 'b', itemId: 'x', eventTime: t + 1 },
  ];
  await store.recordInteractions(once);
  const countOf = async (item: string): Promise<{ count: number; at: number } | undefined> => (await readPopularity(store.redis, keys))?.counts.get(item);
  const before = await countOf('x');
  await store.recordInteractions(once);
  await store.recordInteractions([{ userId: 'a', itemId: 'x', eventTime: t - 5 }]);
  assert.deepEqual(await countOf('x'), before);
  assert.ok(before && Math.abs(before.count - (1 + 2 ** (-1 / HALF_LIFE))) < 1e-12 && before.at === t + 1, JSON.stringify(before));
  // A later repeat is a new interaction.
  await store.recordInteractions([{ userId: 'a', itemId: 'x', eventTime: t + 2 }]);
  assert.equal((await countOf('x'))?.at, t + 2);
});

test('an unreadable count restarts from the interaction; a writer with another half-life counts nothing and fails nothing', async () => {
  const t = 1_700_000_000_000;
  await store.redis.hset(keys.popularity(), 'bad', 'not-a-count');
  await store.recordInteractions([{ userId: 'c', itemId: 'bad', eventTime: t }]);
  assert.deepEqual((await readPopularity(store.redis, keys))?.counts.get('bad'), { count: 1, at: t });
  const other = await VectorStore.open({ redisUrl: url, prefix, popularityHalfLifeMs: 2 * HALF_LIFE });
  try {
    const r = await other.recordInteractions([{ userId: 'd', itemId: 'bad', eventTime: t + 10 }]);
    assert.equal(r.applied, 1, 'the seen set is written');
    assert.deepEqual((await readPopularity(store.redis, keys))?.counts.get('bad'), { count: 1, at: t }, 'not counted');
    assert.equal((await readPopularity(store.redis, keys))?.halfLifeMs, HALF_LIFE);
  } finally {
    await other.close();
  }
});

// Issue 23, item 6: the {pop} hash never shrank, and every serving replica read all of it every 30 s.
test('counts decayed below LEARN_POPULARITY_PRUNE_BELOW leave Redis; a reader fetches only what changed and drops them too', async () => {
  const prunePrefix = uniquePrefix('store-pop-prune');
  const pk = new StoreKeys(prunePrefix);
  const pruning = await VectorStore.open({ redisUrl: url, prefix: prunePrefix, popularityHalfLifeMs: HALF_LIFE, popularityPruneBelow: 0.01 });
  try {
    const t0 = 1_700_000_000_000;
    // 30 items counted once at t0 (a count of 1 falls below 0.01 after log2(100) = 6.64 half-lives), one counted 300 times.
    await pruning.recordInteractions(Array.from({ length: 30 }, (_, j) => ({ userId: 'early', itemId: `old-${j}`, eventTime: t0 })));
    await pruning.recordInteractions(Array.from({ length: 300 }, (_, j) => ({ userId: `fan-${j}`, itemId: 'evergreen', eventTime: t0 })));
    const reader = new PopularityReader(pruning.redis, pk, 0.01);
    const first = await reader.read();
    assert.equal(first.read, 31, 'the first read takes every count');
    assert.equal((await reader.read()).read, 0, 'nothing changed: nothing read');
    // 6 half-lives later nothing is prunable yet; at 7, the single counts are (300 x 2^-7 = 2.3 is not).
    await pruning.recordInteractions([{ userId: 'later', itemId: 'new-0', eventTime: t0 + 6 * HALF_LIFE }]);
    assert.equal(await pruning.redis.hlen(pk.popularity()), 32);
    const second = await reader.read();
    assert.equal(second.read, 1, 'only the changed item is read');
    assert.equal(second.counts?.counts.size, 32);
    for (let j = 1; j <= 10; j++) await pruning.recordInteractions([{ userId: 'later', itemId: `new-${j}`, eventTime: t0 + 7 * HALF_LIFE }]);
    const left = Object.keys(await pruning.redis.hgetall(pk.popularity())).sort();
    assert.deepEqual(left, ['evergreen', ...Array.from({ length: 11 }, (_, j) => `new-${j}`)].sort());
    assert.equal(await pruning.redis.zcard(pk.popularityAt()), 12, 'the index by time shrinks with the hash');
    assert.equal(await pruning.redis.zcard(pk.popularityChanges()), 12, 'and so does the change index');
    const third = await reader.read();
    assert.equal(third.read, 10);
    assert.deepEqual([...(third.counts?.counts.keys() ?? [])].sort(), left, "the reader's copy drops the pruned counts too");
    const whole = await readPopularity(pruning.redis, pk);
    for (const id of left) assert.deepEqual(third.counts?.counts.get(id), whole?.counts.get(id), id);
  } finally {
    await pruning.close();
    await dropPrefix(url, prunePrefix);
  }
});

test('a reader of counts made before the change index existed, or deleted and started afresh, reads them whole', async () => {
  const freshPrefix = uniquePrefix('store-pop-fresh');
  const fk = new StoreKeys(freshPrefix);
  const s = await VectorStore.open({ redisUrl: url, prefix: freshPrefix, popularityHalfLifeMs: HALF_LIFE, popularityPruneBelow: 0 });
  try {
    const t = 1_700_000_000_000;
    await s.redis.set(fk.popularityHalfLife(), String(HALF_LIFE));
    await s.redis.hset(fk.popularity(), 'legacy', `1,${t}`);
    const reader = new PopularityReader(s.redis, fk, 0);
    assert.deepEqual((await reader.read()).counts?.counts.get('legacy'), { count: 1, at: t });
    await s.recordInteractions([{ userId: 'u', itemId: 'a', eventTime: t }, { userId: 'u', itemId: 'b', eventTime: t }]);
    assert.equal((await reader.read()).counts?.counts.size, 3);
    await s.redis.del(fk.popularity(), fk.popularityAt(), fk.popularityChanges(), fk.popularityRevision());
    await s.recordInteractions([{ userId: 'v', itemId: 'c', eventTime: t }]);
    assert.deepEqual([...((await reader.read()).counts?.counts.keys() ?? [])], ['c']);
  } finally {
    await s.close();
    await dropPrefix(url, freshPrefix);
  }
});

// Issue 23 item 9: the seen set's ZADD GT kept a future-stamped event's time, so every later real interaction of that
// user with that item was refused as older and never counted.
test('a future-stamped interaction does not stop later ones of the same user and item from counting', async () => {
  const before = (await readPopularity(store.redis, keys))?.counts.get('fut-item')?.count ?? 0;
  const now = Date.now();
  await store.recordInteractions([{ userId: 'fut-user', itemId: 'fut-item', eventTime: now + 3_600_000 }]);
  await new Promise((r) => setTimeout(r, 20));
  const later = { userId: 'fut-user', itemId: 'fut-item', eventTime: Date.now() };
  await store.recordInteractions([later]);
  const counts = async (): Promise<number> => (await readPopularity(store.redis, keys))!.counts.get('fut-item')!.count;
  const afterTwo = await counts();
  assert.ok(afterTwo - before > 1.5, `both interactions counted: ${before} -> ${afterTwo}`);
  // A re-sent copy of the later one counts nothing.
  await store.recordInteractions([later]);
  assert.equal(await counts(), afterTwo);
});
