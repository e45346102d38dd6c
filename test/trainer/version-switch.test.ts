import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { defaultCodec, type ItemContent, type UserEvent } from '../../src/codec/index.js';
import { redisUrl, type Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { StoreKeys } from '../../src/store/index.js';
import { Trainer } from '../../src/trainer/trainer.js';
import { VectorPublisher } from '../../src/trainer/vector-publisher.js';
import { eventually } from '../support/kafka.js';
import { pipelineConfig } from '../support/stack.js';

// Issue 11 §2.9: a new version held only the LEARN_VERSION_USERS most recent users (everyone else got 404 after
// the switch), and items whose content arrived during a build were written to the old version only.

let cfg: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-version-switch-'));
before(async () => {
  cfg = await pipelineConfig('version-switch', {
    stateDir,
    env: { LEARN_PAL_DIM: '32', LEARN_PAL_LAYERS: '1', LEARN_PAL_OUT_DIM: '16', LEARN_BATCH_USERS: '4', LEARN_VERSION_EVERY_STEPS: '1', LEARN_VERSION_USERS: '3' },
  });
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

const rng = new Rng(9);
const content = (id: string): ItemContent => ({
  item_id: id,
  model_id: 'all-minilm-l6-v2-q@test',
  text_hash: 'd'.repeat(64),
  dim: 24,
  vector: Buffer.from(new Float32Array(24).map(() => rng.normal()).buffer),
  encoded_at: 1,
});

test('version switches never make a servable user or item unservable (users beyond LEARN_VERSION_USERS, items arriving mid-build)', { timeout: 180_000 }, async () => {
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  const send = (cs: ItemContent[]) => producer.send({ topic: cfg.topicItemContent, acks: ACKS_ALL, messages: cs.map((c) => ({ key: c.item_id, value: defaultCodec().encode('ItemContent', c) })) });
  await send(Array.from({ length: 10 }, (_, i) => content(`vs-${i}`)));

  const publisher = await VectorPublisher.open(cfg);
  const trainer = new Trainer(cfg, { publisher });
  await trainer.prepare();
  const redis = new Redis(redisUrl(cfg));
  const keys = new StoreKeys(cfg.redisPrefix);
  const servableUsers = new Set<string>();
  const servableItems = new Set<string>();
  const versionsSeen = new Set<number>();
  const violations: string[] = [];
  let window = 0;
  /** After every window: whatever any earlier current version served, the current one serves too. */
  const check = async (): Promise<void> => {
    const current = Number(await redis.get(keys.current()));
    versionsSeen.add(current);
    for (const u of servableUsers) if (!(await redis.exists(keys.user(current, u)))) violations.push(`user ${u} not in version ${current}`);
    for (const i of servableItems) if ((await redis.zscore(keys.items(current), i)) === null) violations.push(`item ${i} not in version ${current}`);
    for (const u of trainer.model.recentUsers(trainer.model.users)) if (await redis.exists(keys.user(current, u))) servableUsers.add(u);
    for (const i of trainer.model.content.ids()) if ((await redis.zscore(keys.items(current), i)) !== null) servableItems.add(i);
  };
  /** After each pretrain call (its checkpoint waited for the publisher's writes of its windows). */
  const afterWindows = async (): Promise<void> => {
    window++;
    // New items arrive while versions are being built.
    if (window % 3 === 0) await send([content(`vs-new-${window}`)]);
    await check();
  };
  try {
    const events: UserEvent[] = Array.from({ length: 240 }, (_, i) => ({
      event_id: `e${i}`,
      user_id: `u${(i * 7) % 24}`,
      item_id: `vs-${i % 10}`,
      type: 'click',
      ts: 1_700_000_000_000 + i * 1000,
      weight: null,
    }));
    for (let i = 0; i < events.length; i += 24) {
      await trainer.pretrain(events.slice(i, i + 24));
      await afterWindows();
    }
    await eventually('the new items in the current version', async () => {
      await check();
      return [...trainer.model.content.ids()].every((i) => servableItems.has(i));
    });
    assert.deepEqual(violations, []);
    assert.ok(versionsSeen.size >= 3, `versions switched ${versionsSeen.size - 1} times`);
    assert.equal(servableUsers.size, 24);
    assert.ok(trainer.model.content.size > 10);
  } finally {
    redis.disconnect();
    await trainer.stop();
    await producer.disconnect();
    await publisher.stop();
  }
});
