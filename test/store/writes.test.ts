import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { redisUrl } from '../../src/config/load.js';
import { registry } from '../../src/ops/metrics.js';
import { StoreKeys } from '../../src/store/keys.js';
import { VectorStore } from '../../src/store/vector-store.js';
import { WriteOrder } from '../../src/store/write-order.js';
import { ensureStack } from '../support/stack.js';
import { decodeWithDataView, dropPrefix, filled, plainClient, randomVector, rng, uniquePrefix } from './helpers.js';

const prefix = uniquePrefix('store-writes');
const keys = new StoreKeys(prefix);
let url: string;
let store: VectorStore;
let plain: Redis;

before(async () => {
  url = redisUrl(await ensureStack());
  store = await VectorStore.open({ redisUrl: url, prefix, seenKept: 5, seenTtlSeconds: 3600 });
  plain = await plainClient(url);
});
after(async () => {
  await store.close();
  plain.disconnect();
  await dropPrefix(url, prefix);
});

test('without a write order, an older event time never overwrites a newer one; rewriting the same event is a no-op', async () => {
  const ver = await store.beginVersion({ dim: 4, config: { test: true }, checkpointId: 'ck-1' });
  const t0 = Date.now() - 1000;
  assert.deepEqual(await store.writeUserVectors(ver, [{ id: 'u1', eventTime: t0 + 10, vector: filled(4, 2) }]), {
    applied: 1, skipped: 0, rejected: [], pending: 0,
  });
  // Older: skipped, value stays.
  const older = await store.writeUserVectors(ver, [{ id: 'u1', eventTime: t0 + 5, vector: filled(4, 1) }]);
  assert.equal(older.applied, 0);
  assert.equal(older.skipped, 1);
  // Same event again (a replay): a no-op, even with other bytes.
  const same = await store.writeUserVectors(ver, [{ id: 'u1', eventTime: t0 + 10, vector: filled(4, 9) }]);
  assert.equal(same.skipped, 1);
  assert.deepEqual(decodeWithDataView((await plain.getBuffer(keys.user(ver, 'u1'))) as Buffer), [2, 2, 2, 2]);
  assert.equal(await plain.hget(keys.writeOrders(ver), 'u:u1'), String(t0 + 10));
  // Newer wins; within one batch the order of event times decides, not the order in the array.
  const batch = await store.writeUserVectors(ver, [
    { id: 'u1', eventTime: t0 + 30, vector: filled(4, 3) },
    { id: 'u1', eventTime: t0 + 20, vector: filled(4, 7) },
  ]);
  assert.equal(batch.applied, 1);
  assert.equal(batch.skipped, 1);
  assert.deepEqual(decodeWithDataView((await plain.getBuffer(keys.user(ver, 'u1'))) as Buffer), [3, 3, 3, 3]);
  // Users and items of the same id are different keys.
  assert.equal((await store.writeItemVectors(ver, [{ id: 'u1', eventTime: t0, vector: filled(4, 5) }])).applied, 1);
  assert.equal(await store.versionMeta(ver).then((m) => m?.checkpointId), 'ck-1');
});

// Issue 11 §2.8: the guard compared event times, so a future-stamped event froze the user's vector for good, and a late
// event, an event released from waiting or a recomputation with new weights at the same event time was refused.
test("user vectors follow the writer's order, not event time: late events apply, a future-stamped one freezes nothing", async () => {
  const ver = await store.beginVersion({ dim: 2 });
  const order = new WriteOrder();
  const now = Date.now();
  const write = (id: string, eventTime: number, value: number, at = order.next()) =>
    store.writeUserVectors(ver, [{ id, eventTime, order: at, vector: filled(2, value) }]);
  const stored = async (id: string) => decodeWithDataView((await plain.getBuffer(keys.user(ver, id))) as Buffer);

  assert.equal((await write('u-future', now + 86_400_000 - 1, 1)).applied, 1, 'stamped a day ahead');
  assert.equal((await write('u-future', now, 2)).applied, 1, 'the next event of that user is not frozen out');
  assert.deepEqual(await stored('u-future'), [2, 2]);

  assert.equal((await write('u-late', now, 3)).applied, 1);
  assert.equal((await write('u-late', now - 3_600_000, 4)).applied, 1, 'a late event (or one released from waiting)');
  assert.equal((await write('u-late', now - 3_600_000, 5)).applied, 1, 'new weights, same event time');
  assert.deepEqual(await stored('u-late'), [5, 5]);

  // A retried or re-sent older computation never wins, whatever its event time.
  const older = order.next();
  assert.equal((await write('u-late', now - 7_200_000, 6)).applied, 1);
  const retried = await write('u-late', now + 1_000, 7, older);
  assert.equal(retried.applied, 0);
  assert.equal(retried.skipped, 1);
  assert.deepEqual(await stored('u-late'), [6, 6]);

  // The version remembers the highest order: a writer restarted with a clock behind continues above it.
  const highest = (await store.versionMeta(ver))?.order ?? 0;
  assert.ok(highest > older);
  const restarted = new WriteOrder(() => now - 60_000);
  restarted.atLeast(highest);
  assert.equal((await write('u-late', now, 8, restarted.next())).applied, 1);
  assert.deepEqual(await stored('u-late'), [8, 8]);
});

test('vectors decoded from Redis by an independent DataView path equal the Float32Arrays written', async () => {
  const dim = 64;
  const ver = await store.beginVersion({ dim });
  const next = rng(7);
  const writes = Array.from({ length: 600 }, (_, j) => ({ id: `item:${j}`, eventTime: 1_700_000_000_000 + j, vector: randomVector(dim, next) }));
  // Special values survive too.
  (writes[0] as (typeof writes)[number]).vector.set([0, -0, 1e-38, -3.4e38, Math.fround(Math.PI)]);
  const r = await store.writeItemVectors(ver, writes);
  assert.equal(r.applied, writes.length);
  const got = await plain.mgetBuffer(...writes.map((w) => keys.item(ver, w.id)));
  writes.forEach((w, j) => {
    const bytes = got[j];
    assert.ok(bytes, `item ${w.id} missing`);
    assert.equal(bytes.length, dim * 4);
    assert.deepEqual(decodeWithDataView(bytes), Array.from(w.vector), `item ${w.id}`);
  });
  // The items index lists every item once, with a revision that orders writes.
  assert.equal(await plain.zcard(keys.items(ver)), writes.length);
  assert.equal(Number(await plain.get(keys.itemRevision(ver))), writes.length);
});

test('writes to a missing version or of the wrong length are rejected, the rest of the batch applies', async () => {
  const ver = await store.beginVersion({ dim: 3 });
  const r = await store.writeItemVectors(ver, [
    { id: 'ok', eventTime: 1, vector: filled(3, 1) },
    { id: 'short', eventTime: 1, vector: filled(2, 1) },
  ]);
  assert.equal(r.applied, 1);
  assert.deepEqual(r.rejected, [{ id: 'short', reason: 'dim-mismatch' }]);
  const missing = await store.writeItemVectors(ver + 1000, [{ id: 'x', eventTime: 1, vector: filled(3, 1) }]);
  assert.deepEqual(missing.rejected, [{ id: 'x', reason: 'unknown-version' }]);
  await assert.rejects(store.writeItemVectors(ver, [{ id: 'bad-time', eventTime: -1, vector: filled(3, 1) }]), /eventTime/);
});

test('seen sets keep the newest interactions per user, bounded', async () => {
  const base = 1_700_000_000_000;
  const r = await store.recordInteractions(Array.from({ length: 8 }, (_, j) => ({ userId: 'alice', itemId: `i${j}`, eventTime: base + j })));
  assert.equal(r.applied, 8);
  // An older repeat of a kept item does not move it back.
  await store.recordInteractions([{ userId: 'alice', itemId: 'i7', eventTime: base - 100 }]);
  assert.deepEqual(await plain.zrange(keys.seen('alice'), 0, -1), ['i3', 'i4', 'i5', 'i6', 'i7']);
  // A user who stops interacting does not keep a key for ever (LEARN_SEEN_TTL_S).
  const ttl = await plain.ttl(keys.seen('alice'));
  assert.ok(ttl > 3500 && ttl <= 3600, `seen set TTL ${ttl}`);
});

test('applied writes feed the freshness histogram, labelled by kind', async () => {
  const ver = await store.beginVersion({ dim: 2 });
  await store.writeItemVectors(ver, [{ id: 'fresh', eventTime: Date.now() - 250, vector: filled(2, 1) }]);
  const text = await registry.metrics();
  assert.match(text, /learn_store_vector_freshness_seconds_count\{kind="item"\} [1-9]/);
  assert.match(text, /learn_store_vector_freshness_seconds_count\{kind="user"\} [1-9]/);
});

test('a NaN or Inf vector is never written: refused as non-finite, the stored vector stays, the others of the batch apply (issue 23 item 8)', async () => {
  const ver = await store.beginVersion({ dim: 2 });
  const t0 = Date.now();
  await store.writeUserVectors(ver, [{ id: 'nf', eventTime: t0, order: 1, vector: filled(2, 1) }]);
  const r = await store.writeUserVectors(ver, [
    { id: 'nf', eventTime: t0, order: 2, vector: Float32Array.from([Number.NaN, 1]) },
    { id: 'inf', eventTime: t0, order: 2, vector: Float32Array.from([Number.POSITIVE_INFINITY, 1]) },
    { id: 'ok', eventTime: t0, order: 2, vector: filled(2, 3) },
  ]);
  assert.equal(r.applied, 1);
  assert.deepEqual(r.rejected, [{ id: 'nf', reason: 'non-finite' }, { id: 'inf', reason: 'non-finite' }]);
  assert.deepEqual(decodeWithDataView((await plain.getBuffer(keys.user(ver, 'nf'))) as Buffer), [1, 1]);
  assert.equal(await plain.exists(keys.user(ver, 'inf')), 0);
  assert.match(await registry.metrics(), /learn_store_vector_writes_total\{kind="user",outcome="non-finite"\} 2/);
});
