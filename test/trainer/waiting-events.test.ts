import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import { WaitingEvents } from '../../src/trainer/waiting-events.js';

const ev = (id: string, item: string, ts: number): UserEvent => ({ event_id: id, user_id: 'u', item_id: item, type: 'click', ts, weight: null });
const w = (id: string, item: string, ts: number) => ({ event: ev(id, item, ts), topic: 't', partition: 0, offset: id });

test('events wait per item and are released in event-time order when content arrives', () => {
  const q = new WaitingEvents(10, 1_000_000);
  q.add(w('2', 'x', 20));
  q.add(w('1', 'x', 10));
  q.add(w('3', 'y', 15));
  assert.equal(q.size, 3);
  assert.deepEqual(q.release(['x', 'nope']).map((e) => e.event.event_id), ['1', '2']);
  assert.equal(q.size, 1);
});

test('over the count bound the oldest events are pushed out, never dropped silently', () => {
  const q = new WaitingEvents(2, 1_000_000);
  assert.deepEqual(q.add(w('1', 'a', 1)), []);
  assert.deepEqual(q.add(w('2', 'b', 2)), []);
  assert.deepEqual(q.add(w('3', 'c', 3)).map((e) => e.event.event_id), ['1']);
  assert.equal(q.size, 2);
});

test('events older than the age bound (in event time) are pushed out', () => {
  const q = new WaitingEvents(100, 50);
  q.add(w('old', 'a', 20));
  q.add(w('mid', 'b', 60));
  assert.deepEqual(q.add(w('new', 'c', 100)).map((e) => e.event.event_id), ['old']);
  assert.deepEqual(WaitingEvents.restore(q.snapshot(), 100, 50).release(['b', 'c']).map((e) => e.event.event_id), ['mid', 'new']);
});
