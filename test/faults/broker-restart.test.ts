import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultCodec, type ItemListing, type UserEvent } from '../../src/codec/index.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { createKafka } from '../../src/kafka/client.js';
import { createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { ensureKafkaJars, kafkaDown, kafkaUp } from '../../src/stack/kafka-broker.js';
import { stackDown, stackUp } from '../../src/stack/stack.js';
import { digestOf } from '../../src/trainer/digest.js';
import { ensureDefaultModel } from '../encoder/model-helper.js';
import { eventually } from '../support/kafka.js';
import { startLearn } from '../support/process.js';
import { freshPipelineTopics, freshTopic } from '../support/stack.js';
import { SMALL_TRAINER_ENV, alive, dumpLogs, event, latestCheckpoint, listing, messageCount, readAll, sendAll, sleep, stopRole, summariseDlq } from './support.js';

// The broker of a PRIVATE stack (own folder and ports) is stopped mid-stream and started again while
// `learn run` (encoder and trainer in one process) keeps running: the process must ride it out by itself and
// nothing may be lost or trained twice. The shared stack the other suites use is never touched.

const dir = mkdtempSync(join(tmpdir(), 'learn-faults-broker-'));
const stateDir = mkdtempSync(join(tmpdir(), 'learn-faults-broker-state-'));
const PORTS = { LEARN_KAFKA_PORT: '19292', LEARN_KAFKA_CONTROLLER_PORT: '19293', LEARN_REDIS_PORT: '16579' };
const cfg: Config = loadConfig({ ...PORTS, LEARN_STACK_DIR: dir });

before(async () => {
  await ensureDefaultModel();
  // The jars of the shared stack, linked rather than resolved again.
  const shared = loadConfig();
  const libs = ensureKafkaJars({ ...shared, stackDir: resolve(PROJECT_ROOT, shared.stackDir) });
  mkdirSync(join(dir, 'kafka'), { recursive: true });
  symlinkSync(libs, join(dir, 'kafka', 'libs'));
  await stackUp(cfg);
});
after(async () => {
  await stackDown(cfg);
  rmSync(dir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

test('Kafka broker stopped and started mid-stream: learn run recovers by itself, nothing lost or trained twice', { timeout: 300_000 }, async (t) => {
  const started = Date.now();
  const codec = defaultCodec();
  const env = {
    ...SMALL_TRAINER_ENV,
    ...PORTS,
    LEARN_STACK_DIR: dir,
    ...(await freshPipelineTopics(cfg, 'broker', { listings: 2, content: 2, events: 3, dlq: 1 })),
    LEARN_STATE_DIR: stateDir,
    LEARN_REDIS_PREFIX: 'faultbroker',
  };
  const rng = new Rng(31);
  const rounds = 16;
  const listings: ItemListing[] = Array.from({ length: rounds * 4 }, (_, i) => listing(i));
  const events: UserEvent[] = [];
  const role = startLearn(['run'], env);
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  let brokerUp = true;
  let deferred = 0;
  const producing = (async () => {
    for (let r = 0; r < rounds; r++) {
      // Upstream holds its records while the broker is away (a failed send would be ambiguous to retry).
      while (!brokerUp) {
        deferred++;
        await sleep(500);
      }
      const listed = listings.slice(r * 4, r * 4 + 4);
      const batch = Array.from({ length: 60 }, (_, k) => {
        const i = r * 60 + k;
        return event(`bev-${i}`, `user-${rng.int(60)}`, `item-${rng.int((r + 1) * 4)}`, 1_700_000_000_000 + i * 1000);
      });
      await sendAll(producer, env.LEARN_TOPIC_ITEM_LISTINGS, listed.map((l) => ({ key: l.item_id, value: codec.encode('ItemListing', l) })));
      await sendAll(producer, env.LEARN_TOPIC_USER_EVENTS, batch.map((e) => ({ key: e.user_id, value: codec.encode('UserEvent', e) })));
      events.push(...batch);
      await sleep(1000);
    }
  })();

  let downMs = 0;
  let trainedAtStop = 0;
  try {
    await eventually('training under way', () => (latestCheckpoint(stateDir)?.eventsTrained ?? 0) >= 120, 120_000);
    brokerUp = false;
    await sleep(300); // let a send in flight finish
    const t0 = Date.now();
    const down = await kafkaDown(cfg);
    trainedAtStop = latestCheckpoint(stateDir)?.eventsTrained ?? 0;
    await sleep(15_000);
    assert.ok(alive(role), `learn run exited while the broker was down:\n${role.logs().slice(-4000)}`);
    await kafkaUp(cfg);
    downMs = Date.now() - t0;
    t.diagnostic(`broker ${down.note} after ${trainedAtStop} events checkpointed; back after ${downMs} ms`);
    brokerUp = true;
    await producing;
    await producer.disconnect();
    await eventually('every event checkpointed', () => (latestCheckpoint(stateDir)?.eventsTrained ?? 0) >= events.length, 150_000);
    await eventually('every listing encoded', async () => (await messageCount(cfg, env.LEARN_TOPIC_ITEM_CONTENT)) >= listings.length, 60_000);
    assert.ok(alive(role), 'learn run still running');
  } catch (err) {
    dumpLogs('broker', { run: role });
    brokerUp = true;
    await producing.catch(() => undefined);
    await producer.disconnect();
    throw new Error(`${String(err)}\nlearn run log tail:\n${role.logs().slice(-4000)}`);
  } finally {
    const code = await stopRole(role);
    assert.equal(code, 0, `clean exit on SIGTERM:\n${role.logs().slice(-3000)}`);
  }
  const final = latestCheckpoint(stateDir);
  const contents = await readAll(cfg, env.LEARN_TOPIC_ITEM_CONTENT);
  const dlq = summariseDlq(await readAll(cfg, env.LEARN_TOPIC_DLQ));
  t.diagnostic(
    JSON.stringify({
      producedEvents: events.length,
      producedListings: listings.length,
      trainedAtBrokerStop: trainedAtStop,
      brokerDownMs: downMs,
      producerWaits: deferred,
      eventsTrained: final?.eventsTrained,
      contentRecords: contents.length,
      dlq: dlq.byReason,
      wallS: Math.round((Date.now() - started) / 1000),
    }),
  );
  assert.ok(trainedAtStop < events.length, 'the broker stopped mid-stream');
  assert.equal(final?.eventsTrained, events.length, 'none lost, none twice (count)');
  assert.equal(final?.digest, digestOf(events.map((e) => e.event_id)).toString(16), 'none lost, none twice (digest)');
  assert.equal(new Set(contents.map((m) => m.key?.toString())).size, listings.length, 'every listing encoded');
  assert.equal(dlq.total, 0, JSON.stringify(dlq.byReason));
});
