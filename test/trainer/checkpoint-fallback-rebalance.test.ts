import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { trainerGroup } from '../../src/trainer/trainer.js';
import { createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { CheckpointStore } from '../../src/trainer/checkpoint.js';
import { digestOf } from '../../src/trainer/digest.js';
import { Trainer, type TrainerCheckpointState } from '../../src/trainer/trainer.js';
import { eventually } from '../support/kafka.js';
import { SMALL_TRAINER_ENV, clickEvents, publishContents, randomContents, sendEvents } from '../support/pipeline.js';
import { pipelineConfig } from '../support/stack.js';

// Issue 23 §1: after a fallback to an older checkpoint the group's commit is ahead of the trainer. The runner sought to
// the checkpoint's offsets on the first assignment only, so a rebalance before the next commit (a second member joins
// and leaves) resumed from the group's commit: the events in between were never trained nor dead-lettered.

let cfg: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-ckpt-rebalance-'));
before(async () => {
  cfg = await pipelineConfig('ckpt-rebalance', {
    stateDir,
    partitions: { events: 2 },
    env: { ...SMALL_TRAINER_ENV, LEARN_PUBLISH_VECTORS: 'false', LEARN_BATCH_USERS: '2', LEARN_CHECKPOINT_EVERY_BATCHES: '1', LEARN_CHECKPOINTS_KEPT: '100' },
  });
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

const checkpoints = (): CheckpointStore<TrainerCheckpointState> => new CheckpointStore(join(stateDir, 'checkpoints'), 100);
const trainedInLatest = (): number => checkpoints().loadLatest()?.state.eventsTrained ?? 0;

/** Makes every checkpoint holding more than `n` events unreadable (a disk fault): the trainer falls back. */
function breakCheckpointsAbove(n: number): void {
  const store = checkpoints();
  for (let seq = store.latestSeq(); seq > 0; seq--) {
    if (trainedInLatest() <= n) return;
    writeFileSync(join(store.dir, `ckpt-${String(seq).padStart(12, '0')}.bin`), Buffer.from('LRNCKPT1 unreadable'));
  }
}

test('a fallback to an older checkpoint, then a rebalance before the next commit: no event lost, none trained twice', { timeout: 240_000 }, async () => {
  const kafka = createKafka(cfg, 'test-producer');
  const producer = await createProducer(kafka);
  await publishContents(cfg, randomContents('cr', 6, 16, new Rng(5)));
  const events = clickEvents('cr', 60);
  const send = (list: UserEvent[]) => sendEvents(producer, cfg, list);

  let trainer = await Trainer.start(cfg);
  try {
    await send(events.slice(0, 20));
    await eventually('a checkpoint of the first 20 events', () => trainedInLatest() === 20, 120_000);
    await send(events.slice(20, 40));
    await eventually('a checkpoint of 40 events (committed)', () => trainedInLatest() === 40, 120_000);
  } finally {
    await trainer.stop();
  }
  breakCheckpointsAbove(20);
  assert.equal(trainedInLatest(), 20);

  // The trainer is held (backpressure) so that the rebalance comes before it has read, trained or committed anything.
  let hold = true;
  const member = kafka.consumer({ groupId: trainerGroup(cfg), sessionTimeout: 6_000, heartbeatInterval: 600 });
  trainer = await Trainer.start(cfg, { backpressure: { shouldPause: () => hold } });
  try {
    await send(events.slice(40));
    // A second member joins (the group rebalances), takes a partition without reading from it, and leaves.
    await member.connect();
    await member.subscribe({ topic: cfg.topicUserEvents, fromBeginning: true });
    let memberAssigned = false;
    member.on(member.events.GROUP_JOIN, (e) => (memberAssigned = Object.values(e.payload.memberAssignment).some((p) => p.length > 0)));
    await member.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async ({ pause }) => void pause() });
    await eventually('the second member holds a partition', () => memberAssigned, 60_000);
    await member.disconnect();
    await eventually('the trainer holds both partitions again', () => [...trainer['runner']!.assignment.values()].reduce((n, s) => n + s.size, 0) === 2, 60_000);
    hold = false;
    await eventually('all 60 events trained', () => trainedInLatest() >= 60, 120_000);
    await new Promise((r) => setTimeout(r, 1_500));
    const final = checkpoints().loadLatest()!.state;
    assert.equal(final.eventsTrained, 60, 'every event trained once');
    assert.equal(final.digest, digestOf(events.map((e) => e.event_id)).toString(16));
  } finally {
    await member.disconnect().catch(() => undefined);
    await trainer.stop();
    await producer.disconnect();
  }
});
