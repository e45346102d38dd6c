import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import type { SourceRecord } from '../../src/kafka/consumer-runner.js';
import { EventIntake } from '../../src/trainer/event-intake.js';

// The trainer's intake on its own: no broker, no model.
const settings = { batchUsers: 2, windowMaxEvents: 3, maxWaitingEvents: 2, maxWaitingMs: 1_000_000, eventTypes: ['click'], maxFutureMs: 86_400_000, maxIdBytes: 256 };
let offset = 0;
const rec = (user: string, item: string, over: Partial<UserEvent> = {}, at?: number): SourceRecord<UserEvent> => {
  const o = at ?? offset++;
  const value: UserEvent = { event_id: `e${o}`, user_id: user, item_id: item, type: 'click', ts: 1000 + o, weight: null, ...over };
  return { topic: 't', partition: 0, offset: String(o), key: Buffer.from(user), timestamp: '0', value, raw: Buffer.from(`raw${o}`) };
};

test('a record below the consumed offsets is a duplicate, whether taken in this process or restored from a checkpoint', () => {
  offset = 0;
  const intake = new EventIntake(settings, { has: () => true });
  const r = rec('u1', 'a');
  assert.equal(intake.offer(r), 'windowed');
  assert.equal(intake.offer(r), 'duplicate');
  assert.deepEqual(intake.offsets(), new Map([['t', new Map([[0, '1']])]]));
  const restored = new EventIntake(settings, { has: () => true });
  restored.restore(new Map([['t', new Map([[0, '5']])]]), []);
  assert.equal(restored.offer(rec('u1', 'a', {}, 4)), 'duplicate');
  assert.equal(restored.offer(rec('u1', 'a', {}, 5)), 'windowed');
  assert.equal(restored.taken, 1);
});

test('invalid events become dead letters with their reason and original bytes; the window is cut by users or events', () => {
  offset = 0;
  const intake = new EventIntake(settings, { has: () => true });
  assert.equal(intake.offer(rec('u1', 'a', { type: 'teleport' })), 'rejected');
  const [letter] = intake.takeLetters();
  assert.equal(letter?.reason, 'unknown-event-type');
  assert.deepEqual(letter?.value, Buffer.from('raw0'));
  intake.offer(rec('u1', 'a'));
  intake.offer(rec('u1', 'b'));
  assert.equal(intake.windowFull, false);
  intake.offer(rec('u2', 'c'));
  assert.equal(intake.windowFull, true, 'two users');
  const w = intake.takeWindow();
  assert.deepEqual([...w.keys()], ['u1', 'u2']);
  assert.equal(intake.windowSize, 0);
  for (const i of ['a', 'b', 'c']) intake.offer(rec('u3', i));
  assert.equal(intake.windowFull, true, 'three events of one user');
});

test('events wait for content, are released into the window and stay in the checkpoint until it trains; overflow is dead-lettered', () => {
  offset = 0;
  const has = new Set<string>();
  const intake = new EventIntake({ ...settings, windowMaxEvents: 10, batchUsers: 10 }, { has: (id) => has.has(id) });
  assert.equal(intake.offer(rec('u1', 'x')), 'waiting');
  assert.equal(intake.offer(rec('u2', 'y')), 'waiting');
  assert.equal(intake.offer(rec('u3', 'z')), 'waiting');
  const letters = intake.takeLetters();
  assert.deepEqual(letters.map((l) => [l.reason, l.offset]), [['no-content', '0']], 'the oldest is pushed out past the bound');
  has.add('y');
  const steps = [...intake.release(new Set(['y']))].length;
  assert.equal(steps, 1);
  assert.equal(intake.windowSize, 1);
  const all = intake.offsets();
  assert.deepEqual(intake.waitingSnapshot(all).map((w) => w.event.item_id).sort(), ['y', 'z'], 'the released event is still checkpointed');
  intake.takeWindow();
  assert.deepEqual(intake.waitingSnapshot(all).map((w) => w.event.item_id), ['z']);
  assert.deepEqual([...intake.waitingItems()], ['z']);
  assert.deepEqual(intake.waitingSnapshot(new Map([['t', new Map([[0, '2']])]])), [], 'events at or past the checkpoint offsets are read again instead');
});

test('a window that fills in the middle of a release trains without losing the events released after it from the checkpoint', () => {
  offset = 0;
  const has = new Set<string>();
  const intake = new EventIntake({ ...settings, windowMaxEvents: 2, batchUsers: 10, maxWaitingEvents: 100 }, { has: (id) => has.has(id) });
  for (let i = 0; i < 5; i++) intake.offer(rec(`u${i}`, 'x'));
  assert.equal(intake.waitingCount, 5);
  has.add('x');
  const release = intake.release(new Set(['x']));
  release.next();
  release.next();
  assert.equal(intake.windowFull, true);
  intake.takeWindow(); // the window trains and checkpoints here, mid-release
  const snapshot = intake.waitingSnapshot(intake.offsets());
  assert.deepEqual(snapshot.map((w) => w.offset), ['2', '3', '4'], 'the three not yet in a trained window are in the checkpoint');
  assert.equal(intake.waitingCount, 3);
  for (const _ of release) if (intake.windowFull) intake.takeWindow();
  assert.equal(intake.windowSize, 1);
  assert.deepEqual(intake.waitingSnapshot(intake.offsets()).map((w) => w.offset), ['4']);
});

// Issue 11 §2.8: the waiting bound was event time relative to the newest event, so one record moved it for all.
test('a future-stamped event (within LEARN_MAX_FUTURE_MS) does not dead-letter the events waiting before it', () => {
  offset = 0;
  const intake = new EventIntake({ ...settings, maxWaitingEvents: 100, maxWaitingMs: 60_000 }, { has: () => false });
  const now = Date.now();
  assert.equal(intake.offer(rec('u1', 'x', { ts: now - 1_000 })), 'waiting');
  assert.equal(intake.offer(rec('u2', 'y', { ts: now })), 'waiting');
  assert.equal(intake.offer(rec('u3', 'z', { ts: now + settings.maxFutureMs - 60_000 })), 'waiting');
  intake.expireWaiting();
  assert.deepEqual(intake.takeLetters(), []);
  assert.equal(intake.waitingCount, 3);
});

// Issue 11 §2.8, seen with `learn run` + `learn produce ml-100k --limit 3000`: at full replay speed event time ran
// days ahead while the encoder lagged seconds behind, and 12 events whose content was coming went to the DLQ.
test('events of items whose listing was seen are not dead-lettered while the encoder lags, however fast event time runs', () => {
  offset = 0;
  let clock = 0;
  const has = new Set<string>();
  const listed = new Set<string>(['listed-1', 'listed-2']);
  const intake = new EventIntake(
    { ...settings, windowMaxEvents: 10, batchUsers: 10, maxWaitingEvents: 100, maxWaitingMs: 5_000 },
    { has: (id) => has.has(id) },
    { now: () => clock, listed: { has: (id) => listed.has(id) } },
  );
  const day = 86_400_000;
  const t0 = Date.now() - 400 * day;
  // A historical log at full speed: a day of event time per record, milliseconds of wall clock.
  intake.offer(rec('u1', 'listed-1', { ts: t0 }));
  intake.offer(rec('u2', 'never-listed', { ts: t0 + day }));
  for (let i = 2; i < 30; i++) {
    clock += 1;
    intake.offer(rec(`u${i}`, i % 2 === 0 ? 'listed-1' : 'listed-2', { ts: t0 + i * day }));
  }
  intake.expireWaiting();
  assert.deepEqual(intake.takeLetters(), [], 'nothing waited 5 s of wall clock yet');
  // The encoder lags for a minute: only the event of the item nobody listed goes.
  clock += 60_000;
  intake.expireWaiting();
  assert.deepEqual(intake.takeLetters().map((l) => [l.reason, l.offset]), [['no-content', '1']]);
  // Content arrives: everything that waited is released, in event-time order.
  has.add('listed-1');
  has.add('listed-2');
  listed.clear();
  for (const _ of intake.release(new Set(['listed-1', 'listed-2']))) if (intake.windowFull) intake.takeWindow();
  assert.equal(intake.waitingCount, 0);
  assert.deepEqual(intake.takeLetters(), []);
});

test('a checkpoint keeps the time events waited; restored over the bounds, they are dead-lettered, not dropped', () => {
  offset = 0;
  let clock = 0;
  const opts = { now: () => clock };
  const intake = new EventIntake({ ...settings, maxWaitingEvents: 100, maxWaitingMs: 5_000 }, { has: () => false }, opts);
  intake.offer(rec('u1', 'x'));
  clock += 4_000;
  intake.offer(rec('u2', 'y'));
  const snapshot = intake.waitingSnapshot(intake.offsets());
  clock += 86_400_000; // the trainer was down a day: that does not count
  const restored = new EventIntake({ ...settings, maxWaitingEvents: 1, maxWaitingMs: 5_000 }, { has: () => false }, opts);
  restored.restore(intake.offsets(), snapshot);
  assert.deepEqual(restored.takeLetters().map((l) => l.offset), ['0'], 'over the count bound at restore: the longest waiting');
  clock += 1_001;
  restored.expireWaiting();
  assert.deepEqual(restored.takeLetters(), []);
  clock += 4_000;
  restored.expireWaiting();
  assert.deepEqual(restored.takeLetters().map((l) => l.offset), ['1']);
});

test('arrivals: the users with new events still in the open window, and their events in event-time order', () => {
  offset = 0;
  const has = new Set(['a', 'b']);
  const intake = new EventIntake({ ...settings, windowMaxEvents: 3, batchUsers: 10, maxWaitingEvents: 100 }, { has: (id) => has.has(id) });
  intake.offer(rec('u1', 'a', { ts: 50 }));
  intake.offer(rec('u1', 'b', { ts: 40 }));
  intake.offer(rec('u2', 'late'));
  assert.deepEqual(intake.takeArrivals(), ['u1'], 'u2 waits for content');
  assert.deepEqual(intake.takeArrivals(), []);
  assert.deepEqual([...intake.openEvents(['u1', 'u2'])].map(([u, l]) => [u, l.map((e) => e.ts)]), [['u1', [40, 50]]]);
  has.add('late');
  for (const _ of intake.release(new Set(['late']))) if (intake.windowFull) intake.takeWindow();
  // The window (3 events) trained on the release: its users are published with it, not as arrivals.
  assert.deepEqual(intake.takeArrivals(), []);
  intake.offer(rec('u3', 'a'));
  assert.deepEqual(intake.takeArrivals(), ['u3']);
});
