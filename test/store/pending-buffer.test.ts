import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PendingBuffer, type PendingOp } from '../../src/store/pending-buffer.js';

const vec = (id: string, eventTime: number, bytes = 16): PendingOp => ({ type: 'vector', version: 1, kind: 'i', id, eventTime, order: eventTime, bytes: Buffer.alloc(bytes) });

test('one entry per key, newest write order wins; settle keeps a write that replaced the one sent', () => {
  const b = new PendingBuffer({ maxKeys: 10, maxBytes: 1e6, highWater: 0.5 });
  assert.equal(b.offer(vec('x', 5)), 'held');
  assert.equal(b.offer(vec('x', 5)), 'superseded');
  assert.equal(b.offer(vec('x', 3)), 'superseded');
  const sent = b.peek(10)[0] as PendingOp;
  assert.equal(b.offer(vec('x', 9)), 'held');
  assert.equal(b.size, 1);
  b.settle(sent);
  assert.equal(b.size, 1, 'the newer write stays for the next round');
  b.settle(b.peek(1)[0] as PendingOp);
  assert.equal(b.size, 0);
  assert.equal(b.byteSize, 0);
  // A user and an item of the same id, and seen entries, are distinct keys.
  b.offer({ ...vec('x', 1), kind: 'u' } as PendingOp);
  b.offer(vec('x', 1));
  b.offer({ type: 'seen', userId: 'x', itemId: 'x', eventTime: 1 });
  assert.equal(b.size, 3);
});

test('limits: high-water by keys or bytes, and a batch fits whole or not at all', () => {
  const b = new PendingBuffer({ maxKeys: 4, maxBytes: 1e6, highWater: 0.5 });
  b.offer(vec('a', 1));
  assert.equal(b.overHighWater(), false);
  b.offer(vec('b', 1));
  assert.equal(b.overHighWater(), true);
  assert.equal(b.fits([vec('c', 1), vec('d', 1)]), true);
  assert.equal(b.fits([vec('c', 1), vec('d', 1), vec('e', 1)]), false);
  assert.equal(b.fits([vec('a', 2), vec('b', 2), vec('c', 1), vec('c', 2), vec('d', 1)]), true, 'replacements and duplicates add no keys');
  const small = new PendingBuffer({ maxKeys: 100, maxBytes: 1000, highWater: 0.8 });
  small.offer(vec('big', 1, 700));
  assert.equal(small.overHighWater(), true);
  assert.equal(small.fits([vec('more', 1, 300)]), false);
});
