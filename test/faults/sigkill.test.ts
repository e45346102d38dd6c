import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultCodec, type ItemListing, type UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { digestOf } from '../../src/trainer/digest.js';
import { ensureDefaultModel } from '../encoder/model-helper.js';
import { eventually } from '../support/kafka.js';
import { startLearn, type RoleProcess } from '../support/process.js';
import { ensureStack, freshPipelineTopics, freshTopic } from '../support/stack.js';
import { SMALL_TRAINER_ENV, alive, event, latestCheckpoint, listing, messageCount, readAll, sendAll, sleep, stopRole, summariseDlq, dumpLogs } from './support.js';

// SIGKILL of `learn train` and `learn encode` at seeded random moments while listings and events keep arriving:
// afterwards every event is trained exactly once (count and order-free digest of ids in the checkpoint) and
// every listing has exactly one ItemContent record.

let cfg: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-faults-kill-'));
before(async () => {
  cfg = await ensureStack();
  await ensureDefaultModel();
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

const SEED = Number(process.env.LEARN_FAULT_SEED ?? 20240611);

test('SIGKILL of trainer and encoder, alternately, 6 times mid-stream: no event lost or trained twice, no listing missing', { timeout: 300_000 }, async (t) => {
  const started = Date.now();
  const codec = defaultCodec();
  const env = {
    ...SMALL_TRAINER_ENV,
    ...(await freshPipelineTopics(cfg, 'kill', { listings: 2, content: 2, events: 3, dlq: 1 })),
    LEARN_STATE_DIR: stateDir,
    LEARN_REDIS_PREFIX: `faultkill${process.pid}`,
    // Own consumer groups: other pipelines on the shared broker must not rebalance these.
    LEARN_GROUP_PREFIX: `faultkill${process.pid}`,
  };
  const rng = new Rng(SEED);
  const rounds = 24;
  const listingsPerRound = 6;
  const eventsPerRound = 80;
  const listings: ItemListing[] = Array.from({ length: rounds * listingsPerRound }, (_, i) => listing(i));
  const events: UserEvent[] = [];

  // Production runs in the background through the whole kill schedule (about 36 s).
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  const producing = (async () => {
    for (let r = 0; r < rounds; r++) {
      const listed = listings.slice(r * listingsPerRound, (r + 1) * listingsPerRound);
      await sendAll(producer, env.LEARN_TOPIC_ITEM_LISTINGS, listed.map((l) => ({ key: l.item_id, value: codec.encode('ItemListing', l) })));
      const batch = Array.from({ length: eventsPerRound }, (_, k) => {
        const i = r * eventsPerRound + k;
        // Items listed so far, a few of them in this very round (their events may wait for content).
        return event(`ev-${i}`, `user-${rng.int(120)}`, `item-${rng.int((r + 1) * listingsPerRound)}`, 1_700_000_000_000 + i * 1000, i % 5 === 0 ? 'purchase' : 'click');
      });
      events.push(...batch);
      await sendAll(producer, env.LEARN_TOPIC_USER_EVENTS, batch.map((e) => ({ key: e.user_id, value: codec.encode('UserEvent', e) })));
      await sleep(1500);
    }
  })();

  const roles: Record<'train' | 'encode', RoleProcess> = { encode: startLearn(['encode'], env), train: startLearn(['train'], env) };
  const kills: string[] = [];
  const trainedAtKills: number[] = [];
  try {
    for (let k = 0; k < 6; k++) {
      const which = k % 2 === 0 ? 'train' : 'encode';
      const delay = 3000 + rng.int(5000);
      await sleep(delay);
      const p = roles[which];
      assert.ok(alive(p), `${which} still running before kill ${k + 1}:\n${p.logs().slice(-3000)}`);
      p.child.kill('SIGKILL');
      await p.exited;
      const trained = latestCheckpoint(stateDir)?.eventsTrained ?? 0;
      const encoded = await messageCount(cfg, env.LEARN_TOPIC_ITEM_CONTENT);
      trainedAtKills.push(trained);
      kills.push(`${which}@+${delay}ms(trained ${trained}, encoded ${encoded})`);
      roles[which] = startLearn([which], env);
    }
    await producing;
    await producer.disconnect();
    const n = events.length;
    assert.ok(trainedAtKills.every((x) => x < n), `every kill came mid-stream (${trainedAtKills.join(', ')} of ${n} checkpointed)`);
    await eventually('every event checkpointed', () => (latestCheckpoint(stateDir)?.eventsTrained ?? 0) >= n, 150_000).catch((err: unknown) => {
      dumpLogs('sigkill', roles);
      throw new Error(`${String(err)} (${latestCheckpoint(stateDir)?.eventsTrained} of ${n}); trainer log tail:\n${roles.train.logs().slice(-3000)}`);
    });
    await eventually('every listing encoded', async () => (await messageCount(cfg, env.LEARN_TOPIC_ITEM_CONTENT)) >= listings.length, 60_000);
    await sleep(1500); // anything encoded twice would show up now
  } finally {
    const codes = { train: await stopRole(roles.train), encode: await stopRole(roles.encode) };
    t.diagnostic(`exit codes on SIGTERM: ${JSON.stringify(codes)}`);
    assert.deepEqual(codes, { train: 0, encode: 0 }, `${roles.train.logs().slice(-2000)}\n${roles.encode.logs().slice(-2000)}`);
  }

  const final = latestCheckpoint(stateDir);
  const contents = await readAll(cfg, env.LEARN_TOPIC_ITEM_CONTENT);
  const contentIds = new Set(contents.map((m) => m.key?.toString()));
  const dlq = summariseDlq(await readAll(cfg, env.LEARN_TOPIC_DLQ));
  t.diagnostic(
    JSON.stringify({
      seed: SEED,
      kills,
      producedEvents: events.length,
      producedListings: listings.length,
      eventsTrained: final?.eventsTrained,
      contentRecords: contents.length,
      distinctItems: contentIds.size,
      dlq: dlq.byReason,
      wallS: Math.round((Date.now() - started) / 1000),
    }),
  );
  assert.equal(kills.length, 6);
  assert.equal(final?.eventsTrained, events.length, 'none lost, none twice (count)');
  assert.equal(final?.digest, digestOf(events.map((e) => e.event_id)).toString(16), 'none lost, none twice (digest of ids)');
  assert.equal(final?.waiting.length, 0, 'nothing left waiting for content');
  for (const l of listings) assert.ok(contentIds.has(l.item_id), `${l.item_id} has content`);
  assert.equal(contents.length, listings.length, 'no listing encoded twice');
  assert.equal(dlq.total, 0, `nothing dead-lettered: ${JSON.stringify(dlq.byReason)}`);
});
