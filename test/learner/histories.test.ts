import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { UserHistories, type HistoriesSnapshotV2 } from '../../src/learner/histories.js';

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
  const r = UserHistories.restore(h.snapshot(), 3, 5);
  assert.deepEqual(r.get('u1'), { items: ['b', 'c', 'd'], events: 4, lastTs: 1 });
  assert.deepEqual(r.recent(5), ['u2', 'u1']);
});

// Issue 23 §5: histories were an object and a string array per user, about 1 KB of heap each at 50 items (2.4 KB
// with real ids), so a million users did not fit the trainer's limit; they are typed arrays of interned item ids now.
test('histories are typed arrays: 32,768 users of 50 items take under 400 bytes each', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const used = (): number => {
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const items = Array.from({ length: 5000 }, (_, i) => `item-${i}`);
  const keep: UserHistories[] = [];
  const before = used();
  const h = new UserHistories(50, 32_768);
  for (let u = 0; u < 32_768; u++) h.append(`user-${u}`, Array.from({ length: 50 }, (_, j) => items[(u * 31 + j * 7) % items.length]!), u);
  keep.push(h);
  const perUser = (used() - before) / 32_768;
  assert.ok(perUser < 400, `${Math.round(perUser)} bytes per user`);
  assert.deepEqual(h.get('user-3')?.items.slice(0, 2), [items[93], items[100]]);
  const snap = h.snapshot();
  assert.ok(snap.itemBlocks['0'] instanceof Int32Array && snap.stamps.length === 32_768);
  const pinned = h.pin();
  assert.ok(pinned.itemBlocks['1']?.buffer instanceof SharedArrayBuffer, 'a pinned snapshot is a view of shared memory');
  assert.throws(() => h.append('user-1', ['x'], 1), /while a checkpoint was reading them/);
  h.unpin();
  h.append('user-1', ['x'], 1);
  assert.deepEqual(h.get('user-1')?.items.at(-1), 'x');
});

test('freed slots are reused, a shorter history length or fewer users on restore keep the newest', () => {
  const h = new UserHistories(4, 3);
  h.append('u1', ['a', 'b', 'c'], 1);
  h.append('u2', ['d'], 2);
  h.append('u3', ['e', 'f'], 3);
  h.append('u4', ['g'], 4); // evicts u1, whose slot u4 takes
  h.append('u2', ['h', 'i', 'j', 'k', 'l'], 5); // more than fits at once
  assert.deepEqual(h.get('u2'), { items: ['i', 'j', 'k', 'l'], events: 6, lastTs: 5 });
  assert.deepEqual(h.get('u4')?.items, ['g']);
  assert.equal(h.snapshot().lengths.length, 3, 'three slots for four users, one evicted');
  const shorter = UserHistories.restore(h.snapshot(), 2, 2);
  assert.deepEqual(shorter.recent(5), ['u2', 'u4']);
  assert.deepEqual(shorter.get('u2'), { items: ['k', 'l'], events: 6, lastTs: 5 });
  assert.equal(shorter.evicted, 2);
  const same = UserHistories.restore(h.snapshot(), 4, 2);
  assert.deepEqual(same.recent(5), ['u2', 'u4']);
  same.append('u5', ['m'], 6);
  assert.deepEqual(same.get('u5')?.items, ['m']);
  assert.deepEqual(same.get('u2')?.items, ['i', 'j', 'k', 'l'], 'a reused slot leaves others alone');
});

test('the first snapshot format (JSON per user, in older checkpoints) still restores', () => {
  const v1 = { maxLength: 3, maxUsers: 5, users: [['u1', { items: ['a', 'b', 'c', 'd'], events: 9, lastTs: 7 }], ['u2', { items: ['x'], events: 1, lastTs: 8 }]] as Array<[string, { items: string[]; events: number; lastTs: number }]> };
  const r = UserHistories.restore(v1, 3, 5);
  assert.deepEqual(r.get('u1'), { items: ['b', 'c', 'd'], events: 9, lastTs: 7 });
  assert.deepEqual(UserHistories.entriesOf(v1).map(([id]) => id), ['u1', 'u2']);
});

// Issue 23 leftovers: item ids no history holds any more (shifted out, user evicted) were interned for ever, so the
// table grew with every item ever seen (items dropped by LEARN_MAX_ITEMS included). Their numbers are reused now.
test('the item id table holds only ids some history holds, across shifts, evictions and a checkpoint', () => {
  const h = new UserHistories(3, 2);
  // Two users, each shifting 1,000 items through a 3-item history.
  for (let i = 0; i < 1000; i++) h.append(`u${i % 2}`, [`item-${i}`, `item-${i + 1}`], i);
  assert.deepEqual(h.get('u0'), { items: ['item-997', 'item-998', 'item-999'], events: 1000, lastTs: 998 });
  assert.deepEqual(h.get('u1'), { items: ['item-998', 'item-999', 'item-1000'], events: 1000, lastTs: 999 });
  assert.equal(h.internedItems, 4);
  assert.ok(h.itemTableSlots <= 12, `${h.itemTableSlots} table slots`);
  const r = UserHistories.restore(h.snapshot(), 3, 2);
  assert.deepEqual(r.get('u0')?.items, ['item-997', 'item-998', 'item-999']);
  assert.deepEqual(r.get('u1')?.items, ['item-998', 'item-999', 'item-1000']);
  assert.equal(r.internedItems, 4);
  // New users evict the old ones: their ids go, the numbers are reused, and a new id never aliases a live one.
  for (let i = 0; i < 100; i++) r.append(`v${i}`, [`next-${i}`, `next-${i + 1}`], 1000 + i);
  assert.ok(r.itemTableSlots <= 12, `${r.itemTableSlots} table slots after restore`);
  assert.equal(r.internedItems, 3);
  assert.deepEqual(r.get('v98')?.items, ['next-98', 'next-99']);
  assert.deepEqual(r.get('v99')?.items, ['next-99', 'next-100']);
  // A shorter history on restore re-interns what it keeps.
  const shorter = UserHistories.restore(r.snapshot(), 1, 2);
  assert.deepEqual(shorter.get('v99')?.items, ['next-100']);
  assert.equal(shorter.internedItems, 2);
});

// Issue 23 leftovers: a checkpoint packed every user id into one string on the event loop (1.7 s at 1M users). The
// ids live in a shared byte arena with a recency stamp per slot now: the checkpoint thread reads them in place.
test('pinned histories hand over user ids and recency as shared memory, and restore with any ids and slot reuse', () => {
  const h = new UserHistories(2, 3);
  h.append('ascii', ['a'], 1);
  h.append('é-ü-☃', ['b'], 2);
  h.append('\u{1F600}x', ['c'], 3);
  h.append('ascii', ['d'], 4); // most recent now
  h.append('a-much-longer-user-id-than-any-before', ['e'], 5); // evicts 'é-ü-☃' and reuses its slot
  h.append('s', ['f'], 6); // evicts '\u{1F600}x', a shorter id in its slot
  const pinned = h.pin();
  try {
    assert.equal(pinned.format, 3);
    const perUser = { userIdArena: pinned.userIdArena, userIdStarts: pinned.userIdStarts, userIdByteLengths: pinned.userIdByteLengths, stamps: pinned.stamps };
    for (const [name, value] of Object.entries(perUser)) assert.ok(value.buffer instanceof SharedArrayBuffer, `${name} is shared memory`);
  } finally {
    h.unpin();
  }
  const r = UserHistories.restore(h.snapshot(), 2, 3);
  assert.deepEqual(r.recent(3), ['s', 'a-much-longer-user-id-than-any-before', 'ascii']);
  assert.deepEqual(r.get('ascii')?.items, ['a', 'd']);
  assert.deepEqual(r.get('s')?.items, ['f']);
  assert.equal(r.get('é-ü-☃'), undefined);
  r.append('é-ü-☃', ['g'], 7);
  assert.deepEqual(UserHistories.restore(r.snapshot(), 2, 3).recent(3), ['é-ü-☃', 's', 'a-much-longer-user-id-than-any-before']);
});

test('a checkpoint of the second format (user ids packed in recency order) still restores', () => {
  const v2: HistoriesSnapshotV2 = {
    ...new UserHistories(2, 4).snapshot(),
    format: 2,
    userIdBytes: new TextEncoder().encode('u1é'),
    userIdLengths: Uint32Array.from([2, 1]),
    order: Int32Array.from([1, 0]),
    lengths: Uint16Array.from([1, 2]),
    events: Float64Array.from([1, 5]),
    lastTs: Float64Array.from([10, 20]),
    blockSlots: 2,
    itemBlocks: { '0': Int32Array.from([0, 0, 1, 0]) },
    itemIdBytes: new TextEncoder().encode('ab'),
    itemIdLengths: Uint32Array.from([1, 1]),
  };
  const r = UserHistories.restore(v2, 2, 4);
  assert.deepEqual(r.recent(4), ['é', 'u1']);
  assert.deepEqual(r.get('u1'), { items: ['b', 'a'], events: 5, lastTs: 20 });
  assert.deepEqual(r.get('é'), { items: ['a'], events: 1, lastTs: 10 });
});

test('the user id arena compacts once most of it is ids gone, and every live id survives', () => {
  const h = new UserHistories(1, 5);
  // Each new user takes an evicted user's slot with an id longer than the one before: the old bytes become garbage.
  const id = (i: number): string => `${i}-${'é'.repeat(i % 3000)}`;
  for (let i = 0; i < 3000; i++) h.append(id(i), ['a'], i);
  const snap = h.snapshot();
  assert.ok(snap.userIdArena.length < 2 * 5 * 2 * 3000 + (1 << 21), `${snap.userIdArena.length} arena bytes`);
  const want = [2999, 2998, 2997, 2996, 2995].map(id);
  assert.deepEqual(h.recent(5), want);
  assert.deepEqual(UserHistories.restore(snap, 1, 5).recent(5), want);
});

// Review of the reference-counted item ids: restoring under a shorter LEARN_HISTORY_LEN and a smaller LEARN_MAX_USERS
// appended every user, so the oldest were evicted mid-restore and released item numbers that users not yet restored
// still named: those read back as '' (or as a reused number's new id).
test('restore with a shorter history and fewer users keeps every restored item id intact', () => {
  const h = new UserHistories(4, 4);
  h.append('old1', ['only-old', 'shared-1'], 1);
  h.append('old2', ['shared-2', 'only-old-2'], 2);
  h.append('new1', ['x', 'shared-1', 'shared-2'], 3);
  h.append('new2', ['y', 'only-old', 'z'], 4);
  const r = UserHistories.restore(h.snapshot(), 3, 2);
  assert.deepEqual(r.recent(5), ['new2', 'new1']);
  assert.deepEqual(r.get('new1')?.items, ['x', 'shared-1', 'shared-2']);
  assert.deepEqual(r.get('new2')?.items, ['y', 'only-old', 'z']);
  assert.equal(r.evicted, 2);
  assert.equal(r.internedItems, 6);
});
