import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Redis } from 'ioredis';
import { BackpressureError } from '../../src/store/errors.js';
import { StoreKeys } from '../../src/store/keys.js';
import { VectorStore, type WriteResult } from '../../src/store/vector-store.js';
import { PrivateRedis } from '../support/private-redis.js';
import { decodeWithDataView, eventually, filled, plainClient, uniquePrefix } from './helpers.js';

let redis: PrivateRedis | undefined;
after(async () => {
  await redis?.dispose();
});

test('Redis stopped and restarted mid-stream: writes are held (bounded), shouldPause turns on, and every write lands', async () => {
  redis = await PrivateRedis.create();
  const url = redis.url;
  await redis.start();
  const prefix = uniquePrefix('store-outage');
  const keys = new StoreKeys(prefix);
  const MAX_KEYS = 400;
  const store = await VectorStore.open({ redisUrl: url, prefix, maxPendingKeys: MAX_KEYS, highWater: 0.5, commandTimeoutMs: 1000 });
  const health: boolean[] = [];
  store.on('health', (up) => health.push(up));
  const ver = await store.beginVersion({ dim: 4 });

  // The writer behaves like the trainer's consumer: it pauses while shouldPause() is true.
  // `expected` is the newest write per key; values encode (key, event time) so a stale one is visible.
  const expected = new Map<string, number>();
  const totals: WriteResult = { applied: 0, skipped: 0, rejected: [], pending: 0 };
  let running = true;
  let seq = 0;
  let pausedWhileDown = false;
  let maxPending = 0;
  const writer = (async () => {
    while (running) {
      if (store.shouldPause()) {
        if (!store.healthy()) pausedWhileDown = true;
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const t = 1_700_000_000_000 + seq;
      // Three new keys and one rewrite of an older key (newest wins, also inside the buffer).
      const ids = [`n${seq}`, `n${seq + 1}`, `n${seq + 2}`, `n${Math.max(0, seq - 30)}`];
      seq += 3;
      const batch = ids.map((id) => ({ id, eventTime: t, vector: filled(4, t % 1_000_000) }));
      const r = await store.writeItemVectors(ver, batch);
      for (const id of ids) expected.set(id, t);
      totals.applied += r.applied;
      totals.skipped += r.skipped;
      totals.pending += r.pending;
      assert.deepEqual(r.rejected, []);
      maxPending = Math.max(maxPending, store.pendingCount());
      await new Promise((r2) => setTimeout(r2, 2));
    }
  })();

  await eventually('writes applied while redis is up', () => totals.applied > 100);
  await redis.stop();
  await eventually('store notices redis is gone', () => !store.healthy());
  await eventually('the writer pauses on the high-water mark', () => pausedWhileDown, 20_000);
  assert.ok(store.pendingCount() >= MAX_KEYS * 0.5);
  assert.ok(store.shouldPause());

  // A caller that ignores shouldPause gets a clear refusal once the buffer is full, and nothing is taken.
  const before = store.pendingCount();
  const tooMany = Array.from({ length: MAX_KEYS }, (_, j) => ({ id: `overflow${j}`, eventTime: 1, vector: filled(4, 0) }));
  await assert.rejects(store.writeItemVectors(ver, tooMany), BackpressureError);
  assert.equal(store.pendingCount(), before);

  await new Promise((r) => setTimeout(r, 300));
  await redis.start();
  await store.flush(20_000);
  running = false;
  await writer;
  await store.flush(20_000);

  assert.ok(maxPending <= MAX_KEYS, `pending reached ${maxPending} > ${MAX_KEYS}`);
  assert.ok(totals.pending > 0, 'no write was ever held: the outage did not happen mid-stream');
  assert.deepEqual(health.slice(0, 2), [false, true]);

  // Every write is in Redis, at its newest event time, with the matching bytes.
  const plain: Redis = await plainClient(url);
  try {
    const ids = [...expected.keys()];
    const [times, bytes] = await Promise.all([
      plain.hmget(keys.writeOrders(ver), ...ids.map((id) => keys.writeOrderField('i', id))),
      plain.mgetBuffer(...ids.map((id) => keys.item(ver, id))),
    ]);
    ids.forEach((id, j) => {
      const t = expected.get(id) as number;
      assert.equal(times[j], String(t), `${id}: event time`);
      const b = bytes[j];
      assert.ok(b, `${id}: vector missing`);
      assert.deepEqual(decodeWithDataView(b), Array.from(filled(4, t % 1_000_000)), `${id}: vector`);
    });
    assert.equal(await plain.zcard(keys.items(ver)), ids.length);
  } finally {
    plain.disconnect();
    await store.close();
  }
});

test('a batch refused by the full buffer turns shouldPause on below the high-water mark, until Redis is back and the buffer drained', async () => {
  // The trainer's windows grow while a step runs: one window's writes can outnumber the room left below the
  // high-water mark, and then the buffer refuses them whole and never reaches that mark. The consumer must pause all
  // the same (issue 25: with the training thread the fault suite's Redis outage never paused consumption).
  const own = await PrivateRedis.create();
  await own.start();
  const store = await VectorStore.open({ redisUrl: own.url, prefix: uniquePrefix('store-refused'), maxPendingKeys: 100, highWater: 0.8, commandTimeoutMs: 1000 });
  try {
    const ver = await store.beginVersion({ dim: 4 });
    const batch = (label: string, n: number): Array<{ id: string; eventTime: number; vector: Float32Array }> =>
      Array.from({ length: n }, (_, j) => ({ id: `${label}${j}`, eventTime: 1_700_000_000_000 + j, vector: filled(4, j) }));
    await own.stop();
    await eventually('store notices redis is gone', () => !store.healthy());
    await store.writeItemVectors(ver, batch('small', 30));
    assert.equal(store.pendingCount(), 30);
    assert.equal(store.shouldPause(), false, 'below the high-water mark with room for more');
    await assert.rejects(store.writeItemVectors(ver, batch('window', 256)), BackpressureError);
    assert.equal(store.pendingCount(), 30, 'nothing of the refused batch is held');
    assert.equal(store.shouldPause(), true, 'a refused batch means the writer must pause, whatever the count held');
    await own.start();
    await store.flush(20_000);
    await eventually('shouldPause off once Redis is back and the buffer drained', () => !store.shouldPause());
  } finally {
    await store.close();
    await own.dispose();
  }
});
