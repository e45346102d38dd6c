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

// The live trainer rehearses with spare capacity only: a window with more than LEARN_REHEARSAL_MAX_LAG events
// behind it in the partition trains alone, and rehearsal comes back once the trainer has caught up.

let cfg: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-rehearsal-gate-'));
const EVENTS = 80;
before(async () => {
  cfg = await pipelineConfig('rehearsal-gate', {
    stateDir,
    env: {
      LEARN_PAL_DIM: '32',
      LEARN_PAL_LAYERS: '1',
      LEARN_PAL_OUT_DIM: '16',
      LEARN_BATCH_USERS: '8',
      LEARN_WINDOW_MAX_EVENTS: '8',
      LEARN_REHEARSAL_WINDOWS: '4',
      LEARN_REHEARSAL_MAX_LAG: '20',
      LEARN_PUBLISH_VECTORS: 'false',
      LEARN_METRICS_PORT: '0',
    },
  });
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

test('a trainer behind its stream trains windows without rehearsal until at most LEARN_REHEARSAL_MAX_LAG events wait', { timeout: 120_000 }, async () => {
  const contents = randomContents('rg', 12, 24, new Rng(5));
  await publishContents(cfg, contents);
  // The whole backlog is in the topic (one partition, as pipelineConfig makes it) before the trainer starts: windows
  // of 8 events, cut with 72, 64, ... 0 behind.
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  const events: UserEvent[] = Array.from({ length: EVENTS }, (_, i) => ({
    event_id: `rg-e${i}`,
    user_id: `u${i % 6}`,
    item_id: contents[(i * 5) % contents.length]!.item_id,
    type: 'click',
    ts: 1_700_000_000_000 + i * 1000,
    weight: null,
  }));
  await producer.send({ topic: cfg.topicUserEvents, acks: ACKS_ALL, messages: events.map((e) => ({ key: e.user_id, value: defaultCodec().encode('UserEvent', e) })) });
  await producer.disconnect();

  const role = await startTrainerRole(cfg, {}, { exitOnFailure: false });
  try {
    await eventually(`${EVENTS} events trained`, () => role.trainer.stats.eventsTrained === EVENTS, 60_000);
    const { batches, rehearsalSkipped } = role.trainer.stats;
    assert.ok(rehearsalSkipped > 0, `windows cut with more than 20 events behind them train alone (${rehearsalSkipped} of ${batches})`);
    assert.ok(rehearsalSkipped < batches, `the last windows, with at most 20 behind, rehearse (${rehearsalSkipped} of ${batches} skipped)`);
  } finally {
    await role.stop();
  }
});
