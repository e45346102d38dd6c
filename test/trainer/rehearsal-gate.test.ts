import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultCodec, type UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { startTrainerRole } from '../../src/trainer/role.js';
import { eventually } from '../support/kafka.js';
import { publishContents, randomContents } from '../support/pipeline.js';
import { pipelineConfig } from '../support/stack.js';

// The live trainer rehearses with spare capacity only: a window whose oldest event was written to Kafka more than
// LEARN_REHEARSAL_MAX_DELAY_MS ago trains alone, and rehearsal comes back once the trainer trains fresh events.

let cfg: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-rehearsal-gate-'));
const HALF = 40;
const ENV = {
  LEARN_PAL_DIM: '32',
  LEARN_PAL_LAYERS: '1',
  LEARN_PAL_OUT_DIM: '16',
  LEARN_BATCH_USERS: '8',
  LEARN_WINDOW_MAX_EVENTS: '8',
  LEARN_REHEARSAL_WINDOWS: '4',
  LEARN_REHEARSAL_MAX_DELAY_MS: '1500',
  LEARN_PUBLISH_VECTORS: 'false',
  LEARN_METRICS_PORT: '0',
};
before(async () => {
  cfg = await pipelineConfig('rehearsal-gate', { stateDir, env: ENV });
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

function clicks(prefix: string, n: number, contents: Array<{ item_id: string }>): UserEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    event_id: `${prefix}-e${i}`,
    user_id: `u${i % 6}`,
    item_id: contents[(i * 5) % contents.length]!.item_id,
    type: 'click',
    ts: 1_700_000_000_000 + i * 1000,
    weight: null,
  }));
}

test('a trainer behind its stream trains windows without rehearsal, and rehearses again once its events are fresh', { timeout: 120_000 }, async () => {
  const contents = randomContents('rg', 12, 24, new Rng(5));
  await publishContents(cfg, contents);
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  const events = clicks('rg', 2 * HALF, contents);
  const send = (list: UserEvent[]) =>
    producer.send({ topic: cfg.topicUserEvents, acks: ACKS_ALL, messages: list.map((e) => ({ key: e.user_id, value: defaultCodec().encode('UserEvent', e) })) });
  // A backlog older than the limit when the trainer starts: its 5 windows of 8 events train alone.
  await send(events.slice(0, HALF));
  await new Promise((r) => setTimeout(r, 2_500));
  const role = await startTrainerRole(cfg, {}, { exitOnFailure: false });
  try {
    await eventually(`${HALF} backlogged events trained`, () => role.trainer.stats.eventsTrained === HALF, 60_000);
    const behind = role.trainer.stats.rehearsalSkipped;
    assert.ok(behind > 0, `windows of the stale backlog train alone (${behind} of ${role.trainer.stats.batches})`);
    // Fresh events, trained within moments of being written: they rehearse.
    await send(events.slice(HALF));
    await eventually(`${2 * HALF} events trained`, () => role.trainer.stats.eventsTrained === 2 * HALF, 60_000);
    const { batches, rehearsalSkipped } = role.trainer.stats;
    assert.ok(rehearsalSkipped < batches, `fresh windows rehearse (${rehearsalSkipped} of ${batches} skipped)`);
  } finally {
    await producer.disconnect();
    await role.stop();
  }
});

test('a backlog whose producer stamped it far in the future still trains without rehearsal', { timeout: 120_000 }, async () => {
  // The events topic here is CreateTime (a plain test topic), so the record timestamps are the producer's: a day
  // ahead. Only the arrival bound keeps these stale events from passing for fresh.
  const dir = mkdtempSync(join(tmpdir(), 'learn-rehearsal-future-'));
  const future = await pipelineConfig('rehearsal-future', { stateDir: dir, env: ENV });
  const contents = randomContents('rf', 12, 24, new Rng(6));
  await publishContents(future, contents);
  const producer = await createProducer(createKafka(future, 'test-producer'));
  const stamp = String(Date.now() + 24 * 3_600_000);
  const role = await (async () => {
    try {
      await producer.send({
        topic: future.topicUserEvents,
        acks: ACKS_ALL,
        messages: clicks('rf', HALF, contents).map((e) => ({ key: e.user_id, value: defaultCodec().encode('UserEvent', e), timestamp: stamp })),
      });
    } finally {
      await producer.disconnect();
    }
    await new Promise((r) => setTimeout(r, 2_500));
    return startTrainerRole(future, {}, { exitOnFailure: false });
  })();
  try {
    await eventually(`${HALF} backlogged events trained`, () => role.trainer.stats.eventsTrained === HALF, 60_000);
    const { batches, rehearsalSkipped } = role.trainer.stats;
    assert.ok(batches > 0);
    assert.equal(rehearsalSkipped, batches, `every window of the future-stamped backlog trains alone (${rehearsalSkipped} of ${batches})`);
  } finally {
    await role.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
