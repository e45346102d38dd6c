import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { CheckpointStore } from '../../src/trainer/checkpoint.js';
import { digestOf } from '../../src/trainer/digest.js';
import { Trainer, type TrainerCheckpointState } from '../../src/trainer/trainer.js';
import { eventually } from '../support/kafka.js';
import { SMALL_TRAINER_ENV, clickEvents, publishContents, randomContents, sendEvents } from '../support/pipeline.js';
import { pipelineConfig } from '../support/stack.js';

// Issue 11 §2.7: with the newest checkpoint unreadable the trainer loaded the one before it, but read on from the
// group's committed offsets (those of the newest), so the events between the two checkpoints were lost.

let cfg: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-ckpt-fallback-'));
before(async () => {
  cfg = await pipelineConfig('ckpt-fallback', {
    stateDir,
    partitions: { events: 2 },
    env: { ...SMALL_TRAINER_ENV, LEARN_PUBLISH_VECTORS: 'false', LEARN_BATCH_USERS: '2', LEARN_CHECKPOINT_EVERY_BATCHES: '1', LEARN_CHECKPOINTS_KEPT: '100' },
  });
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

const checkpoints = (): CheckpointStore<TrainerCheckpointState> => new CheckpointStore(join(stateDir, 'checkpoints'), 100);
const trainedInLatest = (): number => checkpoints().loadLatest()?.state.eventsTrained ?? 0;

test('an unreadable newest checkpoint: the older one is loaded and its events after it are read again, none lost or twice', { timeout: 240_000 }, async () => {
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  await publishContents(cfg, randomContents('cf', 6, 16, new Rng(3)));
  const events = clickEvents('cf', 40);
  const send = (list: UserEvent[]) => sendEvents(producer, cfg, list);

  let trainer = await Trainer.start(cfg);
  try {
    await send(events.slice(0, 20));
    await eventually('a checkpoint of the first 20 events', () => trainedInLatest() === 20, 120_000);
    await send(events.slice(20));
    await eventually('a checkpoint of all 40 events', () => trainedInLatest() === 40, 120_000);
  } finally {
    await trainer.stop();
  }
  // Every checkpoint after the last one of 20 events is now unreadable (a disk fault).
  const store = checkpoints();
  let older = 0;
  for (let seq = store.latestSeq(); seq > 0; seq--) {
    const path = join(store.dir, `ckpt-${String(seq).padStart(12, '0')}.bin`);
    const c = (() => {
      try {
        return new CheckpointStore<TrainerCheckpointState>(store.dir, 100).loadLatest();
      } catch {
        return undefined;
      }
    })();
    if ((c?.state.eventsTrained ?? 0) <= 20) {
      older = c?.seq ?? 0;
      break;
    }
    writeFileSync(path, Buffer.from('LRNCKPT1 unreadable'));
  }
  assert.ok(older > 0);
  assert.equal(trainedInLatest(), 20);

  trainer = await Trainer.start(cfg);
  try {
    await eventually('all 40 events trained again from the older checkpoint', () => trainedInLatest() >= 40, 120_000);
    await new Promise((r) => setTimeout(r, 1_500));
    const final = checkpoints().loadLatest()!.state;
    assert.equal(final.eventsTrained, 40);
    assert.equal(final.digest, digestOf(events.map((e) => e.event_id)).toString(16));
  } finally {
    await trainer.stop();
    await producer.disconnect();
  }
});
