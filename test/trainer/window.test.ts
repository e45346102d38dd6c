import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import { MicroBatchWindow } from '../../src/trainer/window.js';

const e = (id: string, user: string): UserEvent => ({ event_id: id, user_id: user, item_id: 'i', type: 'click', ts: 1, weight: null });
const ev = (i: number, user: string): UserEvent => ({ event_id: `e${i}`, user_id: user, item_id: `i${i}`, type: 'click', ts: i, weight: null });

/** Adds events of users u0 and u1 until the window is at its growth bound; returns how many it took. */
function fillToBound(w: MicroBatchWindow): number {
  let n = 0;
  while (!w.atGrowthBound) w.add(ev(n, `u${n++ % 2}`));
  return n;
}

test('a window is due by size, or by age unless its policy has no time cut', () => {
  const timed = new MicroBatchWindow({ maxUsers: 2, maxEvents: 10, maxAgeMs: 1000 });
  const sizeOnly = new MicroBatchWindow({ maxUsers: 2, maxEvents: 10, maxAgeMs: 'none' });
  const later = Date.now() + 5000;
  assert.equal(timed.due(later), false, 'an empty window is never due');
  timed.add(e('a', 'u1'));
  sizeOnly.add(e('a', 'u1'));
  assert.equal(timed.due(), false);
  assert.equal(timed.due(later), true, 'open longer than maxAgeMs');
  assert.equal(sizeOnly.due(later), false, "'none': no time cut");
  sizeOnly.add(e('b', 'u2'));
  assert.equal(sizeOnly.full, true);
  assert.equal(sizeOnly.due(), true, 'cut by size');
});

test('a full window that cannot be cut grows, twice as far for each window in a row that grew, up to its growth limit', () => {
  const w = new MicroBatchWindow({ maxUsers: 4, maxEvents: 8, maxAgeMs: 'none', growthUsers: 16, growthEvents: 40 });
  for (let i = 0; i < 8; i++) w.add(ev(i, `u${i % 2}`));
  assert.equal(w.full, true, 'full at the normal cut');
  assert.equal(w.atGrowthBound, false, 'but it may grow while a step runs');
  w.take();
  assert.equal(fillToBound(w), 16, 'after a window cut at the normal bound: twice the cut');
  const taken = w.take();
  assert.deepEqual([...taken.values()].map((l) => l.length), [8, 8], 'more targets per user, in one window');
  assert.equal(fillToBound(w), 32, 'the window before grew: twice as far again');
  w.take();
  assert.equal(fillToBound(w), 40, 'then the limit');
  w.take();
  for (let i = 0; i < 3; i++) w.add(ev(i, 'u0'));
  w.take();
  assert.equal(fillToBound(w), 16, 'a window cut below the normal bound starts the doubling again');
});

test('the growth bound on users holds whatever the events', () => {
  const w = new MicroBatchWindow({ maxUsers: 4, maxEvents: 8, maxAgeMs: 'none', growthUsers: 6, growthEvents: 100 });
  for (let i = 0; i < 5; i++) w.add(ev(i, `u${i}`));
  assert.equal(w.full, true);
  assert.equal(w.atGrowthBound, false);
  w.add(ev(5, 'u5'));
  assert.equal(w.atGrowthBound, true, 'at 6 users, below twice the cut');
});

test('without growth bounds (or bounds below the cut), the growth bound is the normal cut', () => {
  const plain = new MicroBatchWindow({ maxUsers: 4, maxEvents: 8, maxAgeMs: 'none' });
  const low = new MicroBatchWindow({ maxUsers: 4, maxEvents: 8, maxAgeMs: 'none', growthUsers: 2, growthEvents: 3 });
  for (const w of [plain, low]) {
    for (let i = 0; i < 3; i++) w.add(ev(i, `u${i}`));
    assert.equal(w.atGrowthBound, false);
    w.add(ev(3, 'u3'));
    assert.equal(w.full, true);
    assert.equal(w.atGrowthBound, true);
  }
});
