import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { ProbeStages } from '../../src/bench/probe-stages.js';
import type { Trainer } from '../../src/trainer/trainer.js';

// The trainer's two events, as ProbeStages listens to them (pure logic: no broker needed).
const emitter = () => new EventEmitter() as unknown as Pick<Trainer, 'on' | 'off' | 'emit'>;

test("a probe's time splits at the trainer's arrival; other ids, repeats and unseen arrivals are left out", () => {
  const trainer = emitter();
  const stages = new ProbeStages(trainer, (id) => id.startsWith('probe-'));
  const sentAt = performance.now();
  trainer.emit('contentArrived', 'probe-0');
  trainer.emit('contentArrived', 'item-7');
  trainer.emit('eventsArrived', ['u-1', 'probe-u0']);
  const arrived = performance.now();
  trainer.emit('eventsArrived', ['probe-u0']); // a later event of the same user: the first arrival counts
  stages.done('listing', 'probe-0', sentAt, arrived - sentAt + 40);
  stages.done('event', 'probe-u0', sentAt, arrived - sentAt + 25);
  stages.done('event', 'probe-u9', sentAt, 100); // never arrived
  const { listing, event } = stages.take();
  assert.equal(listing.toTrainer.n, 1);
  assert.ok(listing.toTrainer.p50Ms <= arrived - sentAt + 0.1);
  assert.ok(listing.trainerToRedis.p50Ms >= 40 - 0.1, `the rest of the listing's time: ${listing.trainerToRedis.p50Ms}`);
  assert.equal(event.toTrainer.n, 1);
  assert.ok(event.trainerToRedis.p50Ms >= 25 - 0.1);
  // take() starts the next step afresh.
  assert.equal(stages.take().listing.toTrainer.n, 0);
  stages.close();
  trainer.emit('contentArrived', 'probe-1');
  stages.done('listing', 'probe-1', sentAt, 10);
  assert.equal(stages.take().listing.toTrainer.n, 0, 'closed: no longer listening');
});
