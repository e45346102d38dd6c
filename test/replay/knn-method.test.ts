import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import type { OnlineModel } from '../../src/learner/online-model.js';
import { createMethod, METHODS, type ScoringWindow } from '../../src/replay/methods/index.js';
import { log } from '../../src/ops/logger.js';

const ev = (user: string, item: string, ts: number): UserEvent => ({ event_id: `${user}-${ts}`, user_id: user, item_id: item, type: 'click', ts, weight: null });
const ref = (itemId: string): { itemId: string; content: Float32Array } => ({ itemId, content: new Float32Array(1) });

test('item-kNN is a replay method: scores a window from the co-occurrence of the windows before it, then learns it', () => {
  assert.ok(METHODS.includes('knn'));
  const knn = createMethod('knn', { catalogueSize: 3, seed: 1, stepsPerBatch: 1, rehearsal: { windows: 0, samples: 0 }, log: log('test') });
  assert.equal(knn.kind, 'history', 'the popularity prior applies to it');
  const window = (events: UserEvent[], histories: string[][]): ScoringWindow => ({
    events,
    candidates: ['a', 'b', 'c'],
    histories: histories.map((h) => h.map(ref)),
    model: undefined as unknown as OnlineModel,
    frozenContent: () => () => undefined,
  });
  const first = [ev('u', 'a', 1), ev('u', 'b', 2)];
  const s1 = knn.scores(window(first, [[], ['a']]));
  assert.ok(typeof s1 === 'function');
  assert.equal(s1(0), undefined, 'no history: the evaluator falls back');
  assert.deepEqual([...(s1(1) as Float32Array)], [0, 0, 0], 'nothing learned before the first window');
  knn.learn?.({ events: new Map([['u', first]]), examples: new Map() }, { model: undefined as unknown as OnlineModel, pool: { size: 0, at: () => ref('x') }, rehearse: false });
  const s2 = knn.scores(window([ev('v', 'c', 3)], [['a']]));
  assert.ok(typeof s2 === 'function');
  assert.deepEqual([...(s2(0) as Float32Array)], [0, 1, 0], 'b co-occurred with a once; both seen once');
});
