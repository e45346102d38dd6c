import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultCodec, type ItemContent, type UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { redisAnswers } from '../../src/stack/redis-server.js';
import { StoreKeys, createRedisClient, connectWithin } from '../../src/store/index.js';
import { digestOf } from '../../src/trainer/digest.js';
import { eventually } from '../support/kafka.js';
import { startLearn } from '../support/process.js';
import { ensureStack, freshPipelineTopics, freshTopic } from '../support/stack.js';
import { SMALL_TRAINER_ENV, alive, dumpLogs, event, latestCheckpoint, rssKiB, sendAll, sleep, stopRole, unitVector } from './support.js';

// A private redis-server (append-only, own port and folder) under `learn train` is stopped with SIGTERM while the
// trainer publishes vectors: consumption must pause with memory bounded, and after the restart every user must
// have a vector in the current version whose recorded event time is that user's last event time.

let cfg: Config;
const dir = mkdtempSync(join(tmpdir(), 'learn-faults-redis-'));
const stateDir = mkdtempSync(join(tmpdir(), 'learn-faults-redis-state-'));
const PORT = 16589;
const URL = `redis://127.0.0.1:${PORT}`;
let server: ChildProcess | undefined;

async function startRedis(): Promise<void> {
  server = spawn('redis-server', ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir], { stdio: 'ignore' });
  await eventually('redis-server answering', () => redisAnswers(URL), 20_000);
}
async function stopRedis(): Promise<void> {
  if (!server || server.exitCode !== null) return;
  const exited = once(server, 'exit');
  server.kill('SIGTERM');
  await exited;
}

before(async () => {
  cfg = await ensureStack();
  await startRedis();
});
after(async () => {
  await stopRedis();
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

test('Redis stopped and restarted mid-stream under learn train: consumption pauses, memory stays bounded, no vector update lost', { timeout: 300_000 }, async (t) => {
  const started = Date.now();
  const codec = defaultCodec();
  const prefix = `faultredis${process.pid}`;
  const env = {
    ...SMALL_TRAINER_ENV,
    REDIS_URL: URL,
    ...(await freshPipelineTopics(cfg, 'redis', { events: 3, content: 2, dlq: 1 })),
    LEARN_STATE_DIR: stateDir,
    LEARN_REDIS_PREFIX: prefix,
    LEARN_GROUP_PREFIX: prefix,
    // Small enough that the outage fills the buffer to its high-water mark within seconds.
    LEARN_STORE_MAX_PENDING: '100',
    LEARN_PUBLISH_FLUSH_MS: '1000',
  };
  const rng = new Rng(5);
  const items = 80;
  const dim = 96;
  const contents: ItemContent[] = Array.from({ length: items }, (_, i) => ({
    item_id: `it-${i}`, model_id: 'all-minilm-l6-v2-q@test', text_hash: String(i).padStart(64, '0'), dim, vector: unitVector(rng, dim), encoded_at: 1,
  }));
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  await sendAll(producer, env.LEARN_TOPIC_ITEM_CONTENT, contents.map((c) => ({ key: c.item_id, value: codec.encode('ItemContent', c) })));
  const users = 400;
  const events: UserEvent[] = [];
  /** Wall-clock time each user's last event was sent: a vector computed from it carries a later write order. */
  const lastSentAt = new Map<string, number>();
  const rounds = 20;
  const producing = (async () => {
    for (let r = 0; r < rounds; r++) {
      const batch = Array.from({ length: 150 }, (_, k) => {
        const i = r * 150 + k;
        return event(`rev-${i}`, `user-${rng.int(users)}`, `it-${rng.int(items)}`, 1_700_000_000_000 + i * 1000);
      });
      const sentAt = Date.now();
      await sendAll(producer, env.LEARN_TOPIC_USER_EVENTS, batch.map((e) => ({ key: e.user_id, value: codec.encode('UserEvent', e) })));
      for (const e of batch) lastSentAt.set(e.user_id, sentAt);
      events.push(...batch);
      await sleep(1000);
    }
  })();

  const role = startLearn(['train'], env);
  const pid = role.child.pid!;
  const rss: number[] = [];
  let trainedWhileDown = 0;
  let pauseSeen = false;
  try {
    await eventually('training under way', () => (latestCheckpoint(stateDir)?.eventsTrained ?? 0) >= 300, 120_000);
    await stopRedis();
    const trainedAtStop = latestCheckpoint(stateDir)?.eventsTrained ?? 0;
    await eventually('consumption paused', () => role.logs().includes('backpressure: consumption paused'), 60_000);
    pauseSeen = true;
    for (let i = 0; i < 6; i++) {
      rss.push(rssKiB(pid));
      await sleep(1500);
    }
    trainedWhileDown = (latestCheckpoint(stateDir)?.eventsTrained ?? 0) - trainedAtStop;
    assert.ok(alive(role), `learn train still running with Redis down:\n${role.logs().slice(-3000)}`);
    await startRedis();
    await producing;
    await producer.disconnect();
    await eventually('every event checkpointed', () => (latestCheckpoint(stateDir)?.eventsTrained ?? 0) >= events.length, 150_000);
  } catch (err) {
    dumpLogs('redis', { train: role });
    role.child.kill('SIGKILL');
    await producing.catch(() => undefined);
    await producer.disconnect();
    throw err;
  }

  // Every user's vector in the current version was computed after that user's last event was sent (its write order,
  // the trainer's clock, is later), so no write held during the outage was lost or overtaken by an older one.
  const redis = createRedisClient(URL, 'test');
  await connectWithin(redis, 5_000);
  const keys = new StoreKeys(prefix);
  const stale: string[] = [];
  try {
    await eventually('every user vector up to date', async () => {
      const version = Number(await redis.get(keys.current()));
      const orders = await redis.hgetall(keys.writeOrders(version));
      stale.length = 0;
      for (const [user, sentAt] of lastSentAt) {
        const order = Number(orders[keys.writeOrderField('u', user)] ?? 0);
        if (order < sentAt) stale.push(`${user}: written at ${order} < last event sent at ${sentAt}`);
        else if (!(await redis.exists(keys.user(version, user)))) stale.push(`${user}: no vector`);
      }
      return stale.length === 0;
    }, 30_000).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${stale.length} users stale, e.g. ${stale.slice(0, 5).join('; ')}`);
    });
  } finally {
    redis.disconnect();
    const code = await stopRole(role);
    assert.equal(code, 0, `clean exit on SIGTERM:\n${role.logs().slice(-3000)}`);
  }
  const final = latestCheckpoint(stateDir);
  t.diagnostic(
    JSON.stringify({
      producedEvents: events.length,
      users: lastSentAt.size,
      eventsTrained: final?.eventsTrained,
      checkpointedWhileRedisDown: trainedWhileDown,
      pauseSeen,
      rssKiBWhileDown: rss,
      staleUsers: stale.length,
      wallS: Math.round((Date.now() - started) / 1000),
    }),
  );
  assert.equal(final?.eventsTrained, events.length, 'none lost, none twice (count)');
  assert.equal(final?.digest, digestOf(events.map((e) => e.event_id)).toString(16), 'none lost, none twice (digest)');
  assert.ok(Math.max(...rss) - Math.min(...rss) < 64 * 1024, `RSS bounded while paused: ${rss.join(', ')} KiB`);
});
