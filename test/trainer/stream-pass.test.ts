import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import { StreamPass } from '../../src/trainer/stream-pass.js';
import { MicroBatchWindow } from '../../src/trainer/window.js';

const check = { eventTypes: ['click'], maxFutureMs: 60_000, maxIdBytes: 64 };
const e = (id: string, user: string, item = 'known', type = 'click'): UserEvent => ({ event_id: id, user_id: user, item_id: item, type, ts: 1_000, weight: null });

test('one pass over a log: invalid and contentless events counted and left out, windows cut when full, the last at the end', async () => {
  const window = new MicroBatchWindow({ maxUsers: 2, maxEvents: 100, maxAgeMs: 'none' });
  const cuts: string[][] = [];
  const pass = new StreamPass(check, new Set(['known']), window, async () => {
    cuts.push([...window.take().values()].flat().map((x) => x.event_id));
  });
  for (const x of [e('a', 'u1'), e('b', 'u1', 'unknown'), e('c', 'u2'), e('d', 'u3', 'known', 'purchase'), e('f', 'u3'), e('g', '')]) await pass.offer(x);
  assert.deepEqual(cuts, [['a', 'c']], 'cut as soon as two users are in the window');
  await pass.end();
  assert.deepEqual(cuts, [['a', 'c'], ['f']]);
  await pass.end();
  assert.equal(cuts.length, 2, 'an empty window is not cut');
  assert.deepEqual({ invalid: pass.invalid, noContent: pass.noContent, rejected: pass.rejected }, { invalid: 2, noContent: 1, rejected: 3 });
});
