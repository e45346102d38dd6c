import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import { WaitingEvents } from '../../src/trainer/waiting-events.js';
import { rng } from '../support/random.js';

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

test('equal event times leave in arrival order, on release and on expiry', () => {
  const q = new WaitingEvents(2, 1_000_000);
  q.add(w('a1', 'a', 5));
  q.add(w('b1', 'b', 5));
  assert.deepEqual(q.add(w('a2', 'a', 5)).map((e) => e.event.event_id), ['a1']);
  assert.deepEqual(q.release(['a', 'b']).map((e) => e.event.event_id), ['b1', 'a2']);
  assert.equal(q.size, 0);
});

/** The straightforward model of the bounds: scan everything, oldest first. */
class ReferenceWaiting {
  list: Array<ReturnType<typeof w>> = [];
  constructor(
    private readonly maxEvents: number,
    private readonly maxAgeMs: number,
  ) {}
  add(x: ReturnType<typeof w>): string[] {
    this.list.push(x);
    this.list.sort((a, b) => a.event.ts - b.event.ts);
    const out: string[] = [];
    while (this.list.length > 0 && (this.list.length > this.maxEvents || this.list[0]!.event.ts < x.event.ts - this.maxAgeMs)) out.push(this.list.shift()!.event.event_id);
    return out;
  }
  release(items: string[]): string[] {
    const out = this.list.filter((x) => items.includes(x.event.item_id));
    this.list = this.list.filter((x) => !items.includes(x.event.item_id));
    return out.map((x) => x.event.event_id);
  }
}

test('random adds and releases match the straightforward model of the bounds (seeded)', () => {
  const random = rng(2026);
  const q = new WaitingEvents(40, 300);
  const ref = new ReferenceWaiting(40, 300);
  // Distinct event times, mostly increasing with some late ones, so the expected order is unambiguous.
  const times = Array.from({ length: 5_000 }, (_, i) => i * 10 - (random() < 0.2 ? Math.floor(random() * 50) * 10 + 5 : 0));
  for (let i = 0; i < times.length; i++) {
    const x = w(`e${i}`, `i${Math.floor(random() * 60)}`, times[i]!);
    assert.deepEqual(q.add(x).map((e) => e.event.event_id), ref.add(x), `add ${i}`);
    if (random() < 0.1) {
      const items = Array.from({ length: 3 }, () => `i${Math.floor(random() * 60)}`);
      assert.deepEqual(q.release(items).map((e) => e.event.event_id), ref.release(items), `release at ${i}`);
    }
    assert.equal(q.size, ref.list.length);
  }
  assert.deepEqual(new Set(q.snapshot().map((e) => e.event.event_id)), new Set(ref.list.map((x) => x.event.event_id)));
});

// Issue 11 §2.5: every add scanned the whole set and sorted it when full (208 s to fill 100k events). At the
// default bound of 100,000 this runs 200,000 adds and 1,000 releases, and the index keeps no more than about
// twice the events waiting however many are released.
test('at the default bound of 100,000: fill, push out the oldest one per add, release, index stays bounded', () => {
  const max = 100_000;
  const q = new WaitingEvents(max, 1e15);
  for (let i = 0; i < max; i++) assert.deepEqual(q.add(w(`e${i}`, `i${i % 5_000}`, i)), []);
  assert.equal(q.size, max);
  for (let i = max; i < 2 * max; i++) {
    const out = q.add(w(`e${i}`, `i${i % 5_000}`, i));
    assert.equal(out.length, 1);
    assert.equal(out[0]?.event.ts, i - max);
  }
  let released = 0;
  for (let k = 0; k < 1_000; k++) {
    released += q.release([`i${(k * 7) % 5_000}`]).length;
    q.add(w(`r${k}`, `new${k}`, 3 * max + k));
    assert.ok(q.indexedEntries <= 2 * q.size + 64, `index ${q.indexedEntries} for ${q.size} waiting`);
  }
  assert.ok(released > 0);
  assert.equal(q.size, max - released + 1_000);
});
