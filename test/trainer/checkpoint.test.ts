import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CheckpointStore } from '../../src/trainer/checkpoint.js';
import { addToDigest, digestOf } from '../../src/trainer/digest.js';
import { MicroBatchWindow } from '../../src/trainer/window.js';

test('checkpoints round-trip state and arrays; only the newest N are kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const store = new CheckpointStore<{ n: number }>(dir, 2);
  for (let n = 1; n <= 3; n++) {
    store.write({ state: { n }, arrays: { 'w/a': { shape: [2, 2], values: new Float32Array([n, 2, 3, 4]) }, 'w/b': { shape: [1], values: new Float32Array([-n]) } } });
  }
  assert.deepEqual(readdirSync(dir).sort(), ['ckpt-000000000002.bin', 'ckpt-000000000003.bin']);
  const c = store.loadLatest();
  assert.equal(c?.seq, 3);
  assert.deepEqual(c?.state, { n: 3 });
  assert.deepEqual([...(c?.arrays['w/a']?.values ?? [])], [3, 2, 3, 4]);
  assert.deepEqual(c?.arrays['w/a']?.shape, [2, 2]);
  assert.deepEqual([...(c?.arrays['w/b']?.values ?? [])], [-3]);
});

test('a torn or corrupt newest checkpoint is skipped for the one before it; temp files are ignored', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const store = new CheckpointStore<{ n: number }>(dir, 5);
  store.write({ state: { n: 1 }, arrays: { x: { shape: [1], values: new Float32Array([1]) } } });
  writeFileSync(join(dir, 'ckpt-000000000002.bin'), Buffer.from('LRNCKPT1garbage'));
  writeFileSync(join(dir, 'ckpt-000000000003.bin.tmp'), Buffer.from('half a file'));
  assert.deepEqual(store.loadLatest()?.state, { n: 1 });
});

test('the event digest is order-free and sensitive to a lost or repeated event', () => {
  const ids = ['e1', 'e2', 'e3'];
  assert.equal(digestOf(ids), digestOf(['e3', 'e1', 'e2']));
  assert.notEqual(digestOf(ids), digestOf(['e1', 'e2', 'e2']));
  assert.notEqual(digestOf(ids), digestOf(['e1', 'e2']));
  assert.equal(addToDigest(digestOf(['e1', 'e2']), 'e3'), digestOf(ids));
});

test('a window groups events by user, sorted by event time when taken', () => {
  const w = new MicroBatchWindow({ maxUsers: 64, maxEvents: 64 });
  const e = (id: string, user: string, ts: number) => ({ event_id: id, user_id: user, item_id: 'i', type: 'click', ts, weight: null });
  w.add(e('a', 'u1', 5));
  w.add(e('b', 'u2', 1));
  w.add(e('c', 'u1', 2));
  assert.equal(w.users, 2);
  assert.equal(w.size, 3);
  const taken = w.take();
  assert.deepEqual(taken.get('u1')?.map((x) => x.event_id), ['c', 'a']);
  assert.equal(w.size, 0);
});
