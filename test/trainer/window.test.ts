import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import { MicroBatchWindow } from '../../src/trainer/window.js';

const ev = (i: number, user: string): UserEvent => ({ event_id: `e${i}`, user_id: user, item_id: `i${i}`, type: 'click', ts: i, weight: null });

test('a full window that cannot be cut grows to its growth bound on events, then stops taking more', () => {
  const w = new MicroBatchWindow({ maxUsers: 4, maxEvents: 8, growthUsers: 16, growthEvents: 20 });
  for (let i = 0; i < 8; i++) w.add(ev(i, `u${i % 2}`));
  assert.equal(w.full, true, 'full at the normal cut');
  assert.equal(w.atGrowthBound, false, 'but it may grow while a step runs');
  for (let i = 8; i < 20; i++) w.add(ev(i, `u${i % 2}`));
  assert.equal(w.atGrowthBound, true, 'at 20 events');
  const taken = w.take();
  assert.deepEqual([...taken.values()].map((l) => l.length), [10, 10], 'more targets per user, in one window');
});

test('the growth bound on users holds whatever the events', () => {
  const w = new MicroBatchWindow({ maxUsers: 4, maxEvents: 8, growthUsers: 6, growthEvents: 100 });
  for (let i = 0; i < 5; i++) w.add(ev(i, `u${i}`));
  assert.equal(w.full, true);
  assert.equal(w.atGrowthBound, false);
  w.add(ev(5, 'u5'));
  assert.equal(w.atGrowthBound, true, 'at 6 users');
});

test('without growth bounds (or bounds below the cut), the growth bound is the normal cut', () => {
  const plain = new MicroBatchWindow({ maxUsers: 4, maxEvents: 8 });
  const low = new MicroBatchWindow({ maxUsers: 4, maxEvents: 8, growthUsers: 2, growthEvents: 3 });
  for (const w of [plain, low]) {
    for (let i = 0; i < 3; i++) w.add(ev(i, `u${i}`));
    assert.equal(w.atGrowthBound, false);
    w.add(ev(3, 'u3'));
    assert.equal(w.full, true);
    assert.equal(w.atGrowthBound, true);
  }
});
