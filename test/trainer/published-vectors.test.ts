import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { defaultCodec, type UserEvent } from '../../src/codec/index.js';
import { redisUrl, type Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { StoreKeys } from '../../src/store/index.js';
import { StateDirLockedError } from '../../src/trainer/state-lock.js';
import { Trainer } from '../../src/trainer/trainer.js';
import { VectorPublisher } from '../../src/trainer/vector-publisher.js';
import { eventually } from '../support/kafka.js';
import { publishContents, randomContents } from '../support/pipeline.js';
import { pipelineConfig } from '../support/stack.js';

let cfg: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-published-'));
before(async () => {
  cfg = await pipelineConfig('published-vectors', { stateDir, env: { LEARN_PAL_DIM: '32', LEARN_PAL_LAYERS: '1', LEARN_PAL_OUT_DIM: '16' } });
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

/** The independent decoding path: raw bytes from Redis read as little-endian float32 with a DataView. */
function decodeLE(buf: Buffer): number[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return Array.from({ length: buf.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

test("item vectors in Redis, decoded independently, equal the trainer's tensors", { timeout: 120_000 }, async () => {
  const contents = randomContents('pv', 12, 24, new Rng(11));
  await publishContents(cfg, contents);

  const publisher = await VectorPublisher.open(cfg);
  const trainer = new Trainer(cfg, { publisher });
  await trainer.prepare();
  // Issue 11 §2.10: a second trainer on the same state directory fails at start.
  await assert.rejects(new Trainer(cfg).prepare(), StateDirLockedError);
  const redis = new Redis(redisUrl(cfg));
  try {
    const version = publisher.currentVersion!;
    const expected = trainer.model.itemVectors(contents.map((c) => c.item_id));
    const keys = new StoreKeys(cfg.redisPrefix);
    for (const [id, v] of expected) {
      const raw = await redis.getBuffer(keys.item(version, id));
      assert.ok(raw, `vector of ${id} in Redis`);
      assert.equal(raw.byteLength, 16 * 4);
      assert.deepEqual(decodeLE(raw), Array.from(v), id);
    }
    assert.equal(await redis.hget(keys.meta(version), 'dim'), '16');
  } finally {
    redis.disconnect();
    await trainer.stop();
    await publisher.stop();
  }
});

// Issue 11, smaller items: an ItemContent tombstone (the item delisted) left its vector in Redis and served.
test('an ItemContent tombstone removes the item from the current version in Redis', { timeout: 120_000 }, async () => {
  const publisher = await VectorPublisher.open(cfg);
  const trainer = new Trainer(cfg, { publisher });
  await trainer.prepare();
  const redis = new Redis(redisUrl(cfg));
  const keys = new StoreKeys(cfg.redisPrefix);
  try {
    const version = publisher.currentVersion!;
    assert.equal(await redis.exists(keys.item(version, 'pv-3')), 1);
    await publishContents(cfg, [{ item_id: 'pv-3', tombstone: true }]);
    await eventually('pv-3 gone from Redis', async () => (await redis.exists(keys.item(publisher.currentVersion!, 'pv-3'))) === 0);
    assert.equal(trainer.model.content.has('pv-3'), false);
    assert.equal(await redis.exists(keys.item(publisher.currentVersion!, 'pv-4')), 1);
  } finally {
    redis.disconnect();
    await trainer.stop();
    await publisher.stop();
  }
});

// Issue 13 goal 5: a user's vector followed the 2 s training window; it is a function of the history and the current
// weights, so it is published as soon as the event is consumed, from the history plus the open window.
test("a user's vector is in Redis as soon as the event is consumed, before its window trains", { timeout: 120_000 }, async () => {
  const contents = randomContents('fresh', 6, 24, new Rng(5));
  await publishContents(cfg, contents);
  // A window that would not be cut for ten minutes.
  const slow: Config = { ...cfg, windowMs: 600_000, batchUsers: 1_000, windowMaxEvents: 1_000 };
  const publisher = await VectorPublisher.open(slow);
  const trainer = new Trainer(slow, { publisher });
  await trainer.prepare();
  await trainer.consume();
  const batches = trainer.stats.batches;
  const redis = new Redis(redisUrl(cfg));
  const keys = new StoreKeys(cfg.redisPrefix);
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  const event = (n: number, user: string, item: string): UserEvent => ({ event_id: `fresh-${n}`, user_id: user, item_id: item, type: 'click', ts: Date.now(), weight: null });
  // Besides 'fresh-user', more users than one publishing pass takes (32): their vectors are computed in parts.
  const others = Array.from({ length: 70 }, (_, u) => `fresh-u${u}`);
  const events = [event(0, 'fresh-user', 'fresh-1'), event(1, 'fresh-user', 'fresh-2'), ...others.map((u, i) => event(2 + i, u, `fresh-${i % 6}`))];
  try {
    await producer.send({ topic: cfg.topicUserEvents, acks: ACKS_ALL, messages: events.map((e) => ({ key: e.user_id, value: defaultCodec().encode('UserEvent', e) })) });
    const users = ['fresh-user', ...others];
    const key = (u: string) => keys.user(publisher.currentVersion!, u);
    await eventually('every user vector in Redis', async () => (await redis.exists(...users.map(key))) === users.length, 60_000);
    assert.equal(trainer.stats.batches, batches, 'no window trained yet');
    // What was written is the vector of the history so far (the open window) under the current weights, the same as
    // one pass over every user gives.
    const expected = trainer.userVectors(users);
    for (const u of users) {
      const want = expected.get(u);
      assert.ok(want, `the trainer has a vector for ${u}`);
      const written = decodeLE((await redis.getBuffer(key(u))) as Buffer);
      written.forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-5, `${u} component ${i}: ${x} vs ${want[i]}`));
    }
  } finally {
    await producer.disconnect();
    redis.disconnect();
    await trainer.stop();
    await publisher.stop();
  }
});
