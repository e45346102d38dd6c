import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeVector as vectorFromBytes, encodeVector as vectorToBytes } from '../../src/codec/vector.js';
import { toItemContent } from '../../src/encoder/item-content.js';

test('vectors travel as float32 little-endian bytes and come back unchanged', () => {
  const v = Float32Array.from([1, -0.5, 0.25, 3.1415927]);
  const bytes = vectorToBytes(v);
  assert.equal(bytes.length, 16);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x00, 0x00, 0x80, 0x3f]); // 1.0f, little-endian
  assert.deepEqual(vectorFromBytes(bytes), v);
  assert.throws(() => vectorFromBytes(Buffer.alloc(3)), /multiple of 4/);
});

test('toItemContent fills the ItemContent record', () => {
  const v = Float32Array.from([0.6, 0.8]);
  const c = toItemContent('i1', 'ab'.repeat(32), 'm@1', v, 1700000000000);
  assert.deepEqual({ ...c, vector: undefined }, { item_id: 'i1', model_id: 'm@1', text_hash: 'ab'.repeat(32), dim: 2, vector: undefined, encoded_at: 1700000000000 });
  assert.deepEqual(vectorFromBytes(c.vector), v);
});
