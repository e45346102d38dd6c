import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserHistories } from '../../src/learner/histories.js';

test('a history keeps its last maxLength items and counts every event', () => {
  const h = new UserHistories(3, 10);
  h.append('u', ['a', 'b'], 1);
  h.append('u', ['c', 'd', 'e'], 2);
  assert.deepEqual(h.get('u'), { items: ['c', 'd', 'e'], events: 5, lastTs: 2 });
});

test('past maxUsers the least recently active user is evicted', () => {
  const h = new UserHistories(5, 2);
  h.append('u1', ['a'], 1);
  h.append('u2', ['b'], 2);
  h.append('u1', ['c'], 3); // u1 is now the most recent
  h.append('u3', ['d'], 4);
  assert.equal(h.size, 2);
  assert.equal(h.get('u2'), undefined);
  assert.equal(h.evicted, 1);
  assert.deepEqual(h.recent(2), ['u3', 'u1']);
});

test('snapshot and restore keep items, counts and recency', () => {
  const h = new UserHistories(3, 5);
  h.append('u1', ['a', 'b', 'c', 'd'], 1);
  h.append('u2', ['x'], 2);
  const r = UserHistories.restore(JSON.parse(JSON.stringify(h.snapshot())), 3, 5);
  assert.deepEqual(r.get('u1'), { items: ['b', 'c', 'd'], events: 4, lastTs: 1 });
  assert.deepEqual(r.recent(5), ['u2', 'u1']);
});
