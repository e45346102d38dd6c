import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ItemRefreshRound } from '../../src/trainer/item-refresh.js';

const catalogue = Array.from({ length: 10 }, (_, i) => `i${i}`);

test('every item is due once per round of boundSteps steps, a slice per window', () => {
  const r = new ItemRefreshRound(4);
  const lastDue = new Map<string, number>(catalogue.map((id) => [id, 0]));
  for (let step = 1; step <= 40; step++) {
    for (const id of r.due(1, () => catalogue)) lastDue.set(id, step);
    // After each step, no item was last refreshed more than 4 steps ago (all were written at step 0).
    for (const [id, at] of lastDue) assert.ok(step - at <= 4, `${id} last due at ${at}, now ${step}`);
  }
});

test('a slice is sized by the steps the window took, and never more than the catalogue', () => {
  const r = new ItemRefreshRound(5);
  assert.equal(r.due(1, () => catalogue).length, 2);
  assert.equal(r.due(2, () => catalogue).length, 4);
  assert.equal(new Set(new ItemRefreshRound(5).due(50, () => catalogue)).size, 10);
  assert.equal(new ItemRefreshRound(5).due(50, () => catalogue).length, 10);
});

test('items that arrive during a round join the next one; 0 turns it off', () => {
  const live = ['a', 'b'];
  const r = new ItemRefreshRound(2);
  assert.deepEqual(r.due(1, () => live), ['a']);
  live.push('c');
  assert.deepEqual(r.due(1, () => live), ['b']);
  assert.deepEqual(r.due(2, () => live), ['a', 'b', 'c']);
  assert.deepEqual(new ItemRefreshRound(0).due(100, () => live), []);
  assert.throws(() => new ItemRefreshRound(-1), /integer >= 0/);
});
