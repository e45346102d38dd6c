import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { Rng } from '../../src/model/index.js';
import { readiness } from '../../src/ops/health.js';
import { StoreKeys } from '../../src/store/index.js';
import { versionsLost } from '../../src/trainer/metrics.js';
import { Trainer } from '../../src/trainer/trainer.js';
import { VectorPublisher } from '../../src/trainer/vector-publisher.js';
import { publishContents, randomContents, SMALL_TRAINER_ENV } from '../support/pipeline.js';
import { PrivateRedis } from '../support/private-redis.js';
import { eventually } from '../support/kafka.js';
import { pipelineConfig } from '../support/stack.js';
import { plainClient } from '../store/helpers.js';

// Issue 23 item 4: when Redis lost the current version's meta hash (eviction, FLUSHALL, a restart without
// persistence), every vector write was refused as unknown-version, silently, and serving answered 503 until the next
// scheduled build (up to LEARN_VERSION_EVERY_MS). The publisher must notice, rebuild, and lose no vector.

let cfg: Config;
let redis: PrivateRedis;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-version-lost-'));
before(async () => {
  redis = await PrivateRedis.create();
  await redis.start();
  cfg = await pipelineConfig('version-lost', {
    stateDir,
    env: {
      ...SMALL_TRAINER_ENV,
      REDIS_URL: redis.url,
      // No scheduled build during the test: only the loss may cause one.
      LEARN_VERSION_EVERY_STEPS: '100000',
      LEARN_VERSION_EVERY_MS: '3600000',
    },
  });
});
after(async () => {
  await redis.dispose();
  rmSync(stateDir, { recursive: true, force: true });
});

const events = (from: number, n: number, users: number): UserEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    event_id: `e${from + i}`,
    user_id: `u${(from + i) % users}`,
    item_id: `vl-${(from + i) % 12}`,
    type: 'click',
    ts: 1_700_000_000_000 + (from + i) * 1000,
    weight: null,
  }));

/** Every user of `users` and every item has a vector in the version readers are sent to. */
async function everyVectorServed(plain: Redis, keys: StoreKeys, users: readonly string[], items: readonly string[]): Promise<string[]> {
  const current = Number(await plain.get(keys.current()));
  const missing: string[] = [];
  if (!(await plain.exists(keys.meta(current)))) return [`version ${current} has no meta`];
  for (const u of users) if (!(await plain.exists(keys.user(current, u)))) missing.push(`user ${u}`);
  for (const i of items) if (!(await plain.exists(keys.item(current, i)))) missing.push(`item ${i}`);
  return missing;
}

test('the current version deleted from Redis, then Redis flushed: the publisher rebuilds it and every vector lands', { timeout: 180_000 }, async () => {
  const contents = randomContents('vl', 12, 24, new Rng(7));
  await publishContents(cfg, contents);
  const items = contents.map((c) => c.item_id);
  const publisher = await VectorPublisher.open(cfg);
  const trainer = new Trainer(cfg, { publisher });
  await trainer.prepare();
  const keys = new StoreKeys(cfg.redisPrefix);
  const plain = await plainClient(redis.url);
  const lostBefore = (await versionsLost.get()).values[0]?.value ?? 0;
  try {
    await eventually('the catalogue published', async () => (await everyVectorServed(plain, keys, [], items)).length === 0);
    await trainer.pretrain(events(0, 24, 6));
    const first = publisher.currentVersion!;
    assert.deepEqual(await everyVectorServed(plain, keys, ['u0', 'u5'], items), []);

    // 1. Only the meta hash goes (what an LRU eviction of it does): new users' writes are refused.
    await plain.del(keys.meta(first));
    await trainer.pretrain(events(24, 24, 12));
    let missing: string[] = [];
    await eventually('every vector served after the meta was deleted', async () => (missing = await everyVectorServed(plain, keys, ['u0', 'u11'], items)).length === 0, 30_000).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${missing.slice(0, 5).join(', ')}`);
    });
    const second = publisher.currentVersion!;
    assert.ok(second > first, `a new version after the loss: ${second} after ${first}`);

    // 2. Everything goes (FLUSHALL, or a restart without persistence): the version counter too.
    await plain.flushall();
    await trainer.pretrain(events(48, 24, 16));
    await eventually('every vector served after FLUSHALL', async () => (missing = await everyVectorServed(plain, keys, ['u0', 'u15'], items)).length === 0, 30_000).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${missing.slice(0, 5).join(', ')}`);
    });
    assert.ok(publisher.currentVersion! > second, `version ids only grow, even after the counter was flushed: ${publisher.currentVersion} after ${second}`);
    assert.equal((await readiness()).checks['vector-version']?.ok, true);
    assert.equal((await versionsLost.get()).values[0]!.value - lostBefore, 2);
  } finally {
    plain.disconnect();
    await trainer.stop();
    await publisher.stop();
  }
});
