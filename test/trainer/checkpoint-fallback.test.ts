import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createKafka } from '../../src/kafka/client.js';
import { createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { digestOf } from '../../src/trainer/digest.js';
import { Trainer } from '../../src/trainer/trainer.js';
import { fallbackStack } from '../support/checkpoint-fallback.js';
import { eventually } from '../support/kafka.js';
import { clickEvents, publishContents, randomContents } from '../support/pipeline.js';

// Issue 11 §2.7: with the newest checkpoint unreadable the trainer loaded the one before it, but read on from the
// group's committed offsets (those of the newest), so the events between the two checkpoints were lost.

const stack = fallbackStack('ckpt-fallback');

test('an unreadable newest checkpoint: the older one is loaded and its events after it are read again, none lost or twice', { timeout: 240_000 }, async () => {
  const cfg = stack.cfg;
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  await publishContents(cfg, randomContents('cf', 6, 16, new Rng(3)));
  const events = clickEvents('cf', 40);
  await stack.checkpointTwice(producer, events.slice(0, 20), events.slice(20));
  // Every checkpoint after the last one of 20 events is now unreadable (a disk fault).
  const older = stack.breakCheckpointsAbove(20);
  assert.ok(older > 0);
  assert.equal(stack.trainedInLatest(), 20);

  const trainer = await Trainer.start(cfg);
  try {
    await eventually('all 40 events trained again from the older checkpoint', () => stack.trainedInLatest() >= 40, 120_000);
    await new Promise((r) => setTimeout(r, 1_500));
    const final = stack.latestState()!;
    assert.equal(final.eventsTrained, 40);
    assert.equal(final.digest, digestOf(events.map((e) => e.event_id)).toString(16));
  } finally {
    await trainer.stop();
    await producer.disconnect();
  }
});
