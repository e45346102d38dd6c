import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafka } from '../../src/kafka/client.js';
import { createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { digestOf } from '../../src/trainer/digest.js';
import { Trainer, trainerGroup } from '../../src/trainer/trainer.js';
import { fallbackStack } from '../support/checkpoint-fallback.js';
import { eventually } from '../support/kafka.js';
import { clickEvents, publishContents, randomContents, sendEvents } from '../support/pipeline.js';

// Issue 23 §1: after a fallback to an older checkpoint the group's commit is ahead of the trainer. The runner sought to
// the checkpoint's offsets on the first assignment only, so a rebalance before the next commit (a second member joins
// and leaves) resumed from the group's commit: the events in between were never trained nor dead-lettered.

const stack = fallbackStack('ckpt-rebalance');

test('a fallback to an older checkpoint, then a rebalance before the next commit: no event lost, none trained twice', { timeout: 240_000 }, async () => {
  const cfg = stack.cfg;
  const kafka = createKafka(cfg, 'test-producer');
  const producer = await createProducer(kafka);
  await publishContents(cfg, randomContents('cr', 6, 16, new Rng(5)));
  const events = clickEvents('cr', 60);

  await stack.checkpointTwice(producer, events.slice(0, 20), events.slice(20, 40));
  stack.breakCheckpointsAbove(20);
  assert.equal(stack.trainedInLatest(), 20);

  // The trainer is held (backpressure) so that the rebalance comes before it has read, trained or committed anything.
  let hold = true;
  const member = kafka.consumer({ groupId: trainerGroup(cfg), sessionTimeout: 6_000, heartbeatInterval: 600 });
  const trainer = await Trainer.start(cfg, { backpressure: { shouldPause: () => hold } });
  try {
    await sendEvents(producer, cfg, events.slice(40));
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
    await eventually('all 60 events trained', () => stack.trainedInLatest() >= 60, 120_000);
    await new Promise((r) => setTimeout(r, 1_500));
    const final = stack.latestState()!;
    assert.equal(final.eventsTrained, 60, 'every event trained once');
    assert.equal(final.digest, digestOf(events.map((e) => e.event_id)).toString(16));
  } finally {
    await member.disconnect().catch(() => undefined);
    await trainer.stop();
    await producer.disconnect();
  }
});
