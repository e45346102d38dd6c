import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LruMap } from '../../src/ops/lru-map.js';

test('LruMap keeps at most capacity entries and evicts the least recently used', () => {
  const m = new LruMap<string, number>(2);
  assert.deepEqual(m.set('a', 1), []);
  assert.deepEqual(m.set('b', 2), []);
  assert.equal(m.get('a'), 1); // a is now the most recently used
  assert.deepEqual(m.set('c', 3), ['b']);
  assert.equal(m.size, 2);
  assert.equal(m.has('b'), false);
  assert.equal(m.peek('a'), 1); // peek does not mark a used: it goes next
  assert.deepEqual(m.set('d', 4), ['a']);
  assert.deepEqual(m.set('c', 30), []); // updating a kept key evicts nothing
  assert.equal(m.get('c'), 30);
  assert.equal(m.delete('d'), true);
  assert.equal(m.size, 1);
});

test('LruMap refuses a capacity that is not a positive integer', () => {
  assert.throws(() => new LruMap(0), /positive integer/);
});
