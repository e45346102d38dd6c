import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import type { UserExample } from '../../src/model/index.js';
import { eventHistories } from '../../src/replay/evaluator.js';

const ev = (id: string, user: string, item: string, ts: number): UserEvent => ({ event_id: id, user_id: user, item_id: item, type: 'click', ts, weight: null });
const vec = (x: number): Float32Array => Float32Array.of(x, 0);

test('per-event histories: a user\'s later event in a window is scored with the earlier one in its history', () => {
  const content = new Map([['a', vec(1)], ['b', vec(2)], ['c', vec(3)], ['d', vec(4)]]);
  // u1 had item a before the window; u2 is new.
  const examples = new Map<string, UserExample>([
    ['u1', { history: [{ itemId: 'a', content: vec(1) }], targets: [] }],
    ['u2', { history: [], targets: [] }],
  ]);
  const events = [ev('1', 'u2', 'b', 10), ev('2', 'u1', 'c', 11), ev('3', 'u2', 'd', 12), ev('4', 'u1', 'b', 13)];
  const h = eventHistories(events, examples, (id) => content.get(id), 50).map((x) => x.map((r) => r.itemId));
  assert.deepEqual(h, [[], ['a'], ['b'], ['a', 'c']]);
  // Only the last maxHistory items are kept.
  assert.deepEqual(eventHistories(events, examples, (id) => content.get(id), 1)[3]!.map((r) => r.itemId), ['c']);
  // An item without content is not added to later histories.
  assert.deepEqual(eventHistories(events, examples, (id) => (id === 'c' ? undefined : content.get(id)), 50)[3]!.map((r) => r.itemId), ['a']);
});
