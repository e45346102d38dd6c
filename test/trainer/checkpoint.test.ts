import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CheckpointStore } from '../../src/trainer/checkpoint.js';
import { addToDigest, digestOf } from '../../src/trainer/digest.js';
import { MicroBatchWindow } from '../../src/trainer/window.js';

test('checkpoints round-trip state and arrays; only the newest N are kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const store = new CheckpointStore<{ n: number }>(dir, 2);
  for (let n = 1; n <= 3; n++) {
    await store.write({ state: { n }, arrays: { 'w/a': { shape: [2, 2], values: new Float32Array([n, 2, 3, 4]) }, 'w/b': { shape: [1], values: new Float32Array([-n]) } } });
  }
  assert.deepEqual(readdirSync(dir).sort(), ['ckpt-000000000002.bin', 'ckpt-000000000003.bin']);
  const c = store.loadLatest();
  assert.equal(c?.seq, 3);
  assert.deepEqual(c?.state, { n: 3 });
  assert.deepEqual([...(c?.arrays['w/a']?.values ?? [])], [3, 2, 3, 4]);
  assert.deepEqual(c?.arrays['w/a']?.shape, [2, 2]);
  assert.deepEqual([...(c?.arrays['w/b']?.values ?? [])], [-3]);
});

test('a torn or corrupt newest checkpoint is skipped for the one before it; temp files are ignored', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const store = new CheckpointStore<{ n: number }>(dir, 5);
  await store.write({ state: { n: 1 }, arrays: { x: { shape: [1], values: new Float32Array([1]) } } });
  writeFileSync(join(dir, 'ckpt-000000000002.bin'), Buffer.from('LRNCKPT1garbage'));
  writeFileSync(join(dir, 'ckpt-000000000003.bin.tmp'), Buffer.from('half a file'));
  assert.deepEqual(store.loadLatest()?.state, { n: 1 });
});

// Issue 11 §2.4: the checkpoint was one JSON string, and past V8's string limit (about 700k users at the default
// limits) JSON.stringify threw and the trainer stopped. The state is now lines of bounded size.
test('the state goes to disk as bounded lines: a state of 100,000 users round-trips, no line is large', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const store = new CheckpointStore<Record<string, unknown>>(dir, 2);
  const users = Array.from({ length: 100_000 }, (_, i) => [`user-${i}`, { items: Array.from({ length: 8 }, (_, j) => `item-${(i * 7 + j) % 5000}`), events: i, lastTs: 1_700_000_000_000 + i }]);
  const state = {
    step: 42,
    digest: 'abc',
    offsets: { 'learn.user-events': { '0': '100', '1': '7' } },
    histories: { maxLength: 50, maxUsers: 1_000_000, users },
    waiting: [],
    empty: {},
    odd: { text: 'line\nbreak \u2028 and "quotes"', nothing: null, list: [1, [2, 3], { deep: true }] },
  };
  await store.write({ state, arrays: { 'w/x': { shape: [3], values: new Float32Array([1, 2, 3]) } } });
  const file = readFileSync(join(dir, 'ckpt-000000000001.bin'));
  assert.ok(file.length > 5_000_000, `file of ${file.length} bytes`);
  let longest = 0;
  for (let at = 0, nl = file.indexOf(10); nl >= 0; at = nl + 1, nl = file.indexOf(10, at)) longest = Math.max(longest, nl - at);
  assert.ok(longest < 300_000, `longest line ${longest} bytes`);
  const back = store.loadLatest();
  assert.deepEqual(back?.state, state);
  assert.deepEqual([...(back?.arrays['w/x']?.values ?? [])], [1, 2, 3]);
});

test('a checkpoint cut short (its end line missing) is skipped; the first format still loads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const store = new CheckpointStore<{ n: number; list: number[] }>(dir, 5);
  // Format 1, as written before: magic, header length, JSON header holding the state, then the arrays.
  const header = Buffer.from(JSON.stringify({ seq: 1, state: { n: 1, list: [] }, arrays: [{ name: 'x', shape: [1], length: 1 }] }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  writeFileSync(join(dir, 'ckpt-000000000001.bin'), Buffer.concat([Buffer.from('LRNCKPT1'), len, header, Buffer.from(new Float32Array([5]).buffer)]));
  assert.deepEqual(store.loadLatest()?.state, { n: 1, list: [] });
  await store.write({ state: { n: 2, list: Array.from({ length: 3000 }, (_, i) => i) }, arrays: { x: { shape: [1], values: new Float32Array([6]) } } });
  assert.equal(store.loadLatest()?.state.n, 2);
  const path = join(dir, 'ckpt-000000000002.bin');
  const whole = readFileSync(path);
  writeFileSync(path, whole.subarray(0, whole.length - 5));
  assert.equal(store.loadLatest()?.state.n, 1);
});

// Issue 23 §5: the histories are typed arrays, written as raw bytes by a worker thread (the trainer's loop only
// copies them to it), not a JSON line per user on the loop.
test('typed arrays in the state are stored as raw bytes and come back with their types; handOver moves them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const store = new CheckpointStore<Record<string, unknown>>(dir, 2);
  const big = new Int32Array(3_000_000).map((_, i) => i * 7);
  const state = {
    step: 1,
    histories: { format: 2, items: big, lengths: new Uint16Array([1, 65535]), ts: new Float64Array([1.5, -2]), ids: new Uint8Array([104, 105]), none: new Uint32Array(0) },
    list: [1, 2],
  };
  const expected = structuredClone(state);
  await store.write({ state, arrays: { x: { shape: [1], values: new Float32Array([1]) } } }, { handOver: true });
  assert.equal(big.length, 0, 'the buffer moved to the writing thread');
  const file = readFileSync(join(dir, 'ckpt-000000000001.bin'));
  assert.ok(file.length > 12_000_000 && file.length < 12_100_000, `${file.length} bytes: the int32 array as 4 bytes a value`);
  const back = store.loadLatest();
  assert.deepEqual(back?.state, expected);
  assert.ok((back?.state.histories as { items: unknown }).items instanceof Int32Array);
  await store.close();
});

test('a version-2 checkpoint (no binary section) still loads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
  const store = new CheckpointStore<{ n: number; h: { users: unknown[] } }>(dir, 2);
  await store.write({ state: { n: 4, h: { users: [['u', { items: ['a'], events: 1, lastTs: 2 }]] } }, arrays: { x: { shape: [1], values: new Float32Array([3]) } } });
  const path = join(dir, 'ckpt-000000000001.bin');
  const bytes = readFileSync(path);
  // Version 2 is version 3 without the binaries: the same bytes with its magic.
  bytes.write('LRNCKPT2', 0, 'latin1');
  writeFileSync(path, bytes);
  assert.deepEqual(store.loadLatest()?.state, { n: 4, h: { users: [['u', { items: ['a'], events: 1, lastTs: 2 }]] } });
});

test('the event digest is order-free and sensitive to a lost or repeated event', () => {
  const ids = ['e1', 'e2', 'e3'];
  assert.equal(digestOf(ids), digestOf(['e3', 'e1', 'e2']));
  assert.notEqual(digestOf(ids), digestOf(['e1', 'e2', 'e2']));
  assert.notEqual(digestOf(ids), digestOf(['e1', 'e2']));
  assert.equal(addToDigest(digestOf(['e1', 'e2']), 'e3'), digestOf(ids));
});

test('a window groups events by user, sorted by event time when taken', () => {
  const w = new MicroBatchWindow({ maxUsers: 64, maxEvents: 64, maxAgeMs: 'none' });
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
