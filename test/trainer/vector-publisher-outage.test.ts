import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { Rng } from '../../src/model/index.js';
import { StoreKeys } from '../../src/store/index.js';
import { Trainer } from '../../src/trainer/trainer.js';
import { VectorPublisher } from '../../src/trainer/vector-publisher.js';
import { publishContents, randomContents } from '../support/pipeline.js';
import { PrivateRedis } from '../support/private-redis.js';
import { eventually } from '../support/kafka.js';
import { pipelineConfig } from '../support/stack.js';
import { plainClient } from '../store/helpers.js';

// Issue 11 §2.6: a version build due while Redis was down threw out of the trainer's window (the role stopped),
// and the restart crash-looped because reading the current version threw while Redis was still down.

let cfg: Config;
let redis: PrivateRedis;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-publisher-outage-'));
before(async () => {
  redis = await PrivateRedis.create();
  cfg = await pipelineConfig('publisher-outage', {
    stateDir,
    env: {
      REDIS_URL: redis.url,
      LEARN_PAL_DIM: '32',
      LEARN_PAL_LAYERS: '1',
      LEARN_PAL_OUT_DIM: '16',
      LEARN_BATCH_USERS: '4',
      LEARN_VERSION_EVERY_STEPS: '1',
      LEARN_PUBLISH_FLUSH_MS: '500',
    },
  });
});
after(async () => {
  await redis.dispose();
  rmSync(stateDir, { recursive: true, force: true });
});

const events = (from: number, n: number): UserEvent[] =>
  Array.from({ length: n }, (_, i) => ({
    event_id: `e${from + i}`,
    user_id: `u${(from + i) % 8}`,
    item_id: `po-${(from + i) % 12}`,
    type: 'click',
    ts: 1_700_000_000_000 + (from + i) * 1000,
    weight: null,
  }));

test('Redis down at start and when a version build is due: the publisher waits, training goes on, the next build lands', { timeout: 180_000 }, async () => {
  await publishContents(cfg, randomContents('po', 12, 24, new Rng(5)));

  // Start with Redis down: no crash, the publisher (started by the trainer's prepare) waits.
  const publisher = await VectorPublisher.open(cfg);
  const trainer = new Trainer(cfg, { publisher });
  let settled: 'resolved' | Error | undefined;
  const starting = trainer.prepare().then(
    () => (settled = 'resolved'),
    (err: Error) => {
      settled = err;
      throw err;
    },
  );
  // Longer than the store's first connection wait (5 s), after which the old code read the version and threw.
  await new Promise((r) => setTimeout(r, 7_000));
  assert.equal(settled, undefined, `start settled while redis was down: ${String(settled)}`);
  await redis.start();
  await starting;
  const first = publisher.currentVersion;
  assert.ok(first !== undefined);

  try {
    // A build is due after every step (LEARN_VERSION_EVERY_STEPS=1); Redis goes away.
    await redis.stop();
    await eventually('the store sees redis gone', () => !publisher.store.healthy());
    const trained = await trainer.pretrain(events(0, 40));
    assert.equal(trained.trained, 40);
    assert.equal(publisher.currentVersion, first);

    await redis.start();
    await eventually('the store sees redis back', () => publisher.store.healthy());
    await trainer.pretrain(events(40, 40));
    assert.ok((publisher.currentVersion ?? 0) > first, `version ${publisher.currentVersion} after ${first}`);
    const plain = await plainClient(redis.url);
    try {
      assert.equal(await plain.get(new StoreKeys(cfg.redisPrefix).current()), String(publisher.currentVersion));
    } finally {
      plain.disconnect();
    }
  } finally {
    await trainer.stop();
    await publisher.stop();
  }
});
