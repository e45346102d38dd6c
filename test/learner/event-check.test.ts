import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import { eventProblem } from '../../src/learner/event-check.js';

const cfg = { eventTypes: ['click'], maxFutureMs: 1000, maxIdBytes: 8 };
const event = (over: Partial<UserEvent>): UserEvent => ({ event_id: 'e1', user_id: 'u1', item_id: 'i1', type: 'click', ts: 1, weight: null, ...over });

test('eventProblem: an id longer than LEARN_MAX_ID_BYTES (in UTF-8 bytes) is id-too-long, naming the field', () => {
  assert.equal(eventProblem(event({ user_id: '12345678' }), cfg, 10), undefined);
  assert.deepEqual(eventProblem(event({ user_id: '123456789' }), cfg, 10)?.reason, 'id-too-long');
  assert.match(eventProblem(event({ item_id: 'x'.repeat(20) }), cfg, 10)?.error ?? '', /item_id of 20 bytes .*LEARN_MAX_ID_BYTES \(8\)/);
  // Five characters, ten bytes: the limit is on bytes (what Redis keys and checkpoints hold).
  assert.equal(eventProblem(event({ user_id: 'ééééé' }), cfg, 10)?.reason, 'id-too-long');
});
