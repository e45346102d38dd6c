import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HybridItems } from '../../src/learner/hybrid-items.js';

// Pure logic: the hybrid input's rows, counts and gate.

test('gate = min(1, n / k) over the interactions added so far; an item never added has none and no row', () => {
  const h = new HybridItems(4, 10);
  assert.equal(h.gate('a'), 0);
  h.add(['a', 'b', 'a']);
  assert.equal(h.interactions('a'), 2);
  assert.equal(h.gate('a'), 0.5);
  assert.equal(h.gate('b'), 0.25);
  h.add(['a', 'a', 'a', 'a']);
  assert.equal(h.gate('a'), 1, 'capped at 1');
  const c = Float32Array.of(0.5, 0.5);
  assert.deepEqual(Array.from(h.floatsOf({ itemId: 'b', content: c })), [0.5, 0.5, 2, 0.25], 'content, row, gate');
  assert.deepEqual(Array.from(h.floatsOf({ itemId: 'zz', content: c })), [0.5, 0.5, 0, 0], 'no row: padding, gate 0');
});

test('rows in order of first interaction, bounded: past maxRows an item keeps content alone', () => {
  const h = new HybridItems(20, 2);
  h.add(['x', 'y', 'z', 'z']);
  assert.equal(h.size, 2);
  assert.equal(h.interactions('z'), 0);
  assert.equal(h.gate('z'), 0);
  assert.deepEqual(h.snapshot(), { items: ['x', 'y'], counts: [1, 1] });
});

test('snapshot and restore round trip; a snapshot past the bound or inconsistent is refused', () => {
  const h = new HybridItems(5, 10);
  h.add(['p', 'q', 'p']);
  const r = HybridItems.restore(JSON.parse(JSON.stringify(h.snapshot())), 5, 10);
  assert.deepEqual(r.snapshot(), h.snapshot());
  assert.equal(r.gate('p'), 0.4);
  r.add(['s']);
  assert.deepEqual(Array.from(r.floatsOf({ itemId: 's', content: new Float32Array(1) })), [0, 3, Math.fround(0.2)]);
  assert.throws(() => HybridItems.restore(h.snapshot(), 5, 1), /LEARN_HYBRID_MAX_ITEMS/);
  assert.throws(() => HybridItems.restore({ items: ['a'], counts: [] }, 5, 10), /counts/);
});
