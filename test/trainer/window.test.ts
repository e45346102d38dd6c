import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MicroBatchWindow } from '../../src/trainer/window.js';

const e = (id: string, user: string) => ({ event_id: id, user_id: user, item_id: 'i', type: 'click', ts: 1, weight: null });

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
