import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OnlineModel } from '../../src/learner/online-model.js';
import { ServedItemVectors } from '../../src/replay/served-items.js';

/** A model whose item vectors are 1-d: the step of the weights that computed them. */
function modelAt(): Pick<OnlineModel, 'step' | 'config' | 'itemMatrix'> & { step: number } {
  return {
    step: 0,
    config: { outDim: 1 } as OnlineModel['config'],
    itemMatrix(ids: readonly string[]) {
      return new Float32Array(ids.length).fill(this.step);
    },
  };
}

const items = ['a', 'b', 'c', 'd'];

test('without a refresh, item vectors are those of the last build (every versionEverySteps) or of their arrival', () => {
  const served = new ServedItemVectors({ versionEverySteps: 10, refreshSteps: 0 });
  const m = modelAt();
  assert.deepEqual([...served.matrix(m, items.slice(0, 2))], [0, 0]);
  m.step = 4;
  // c arrives now: from these weights; a and b stay as built.
  assert.deepEqual([...served.matrix(m, items.slice(0, 3))], [0, 0, 4]);
  m.step = 9;
  assert.deepEqual([...served.matrix(m, items.slice(0, 3))], [0, 0, 4]);
  m.step = 10;
  assert.deepEqual([...served.matrix(m, items)], [10, 10, 10, 10]);
});

test('with a refresh bound, no item vector is older than the bound', () => {
  const served = new ServedItemVectors({ versionEverySteps: 1000, refreshSteps: 2 });
  const m = modelAt();
  served.matrix(m, items);
  for (let step = 1; step <= 20; step++) {
    m.step = step;
    const ages = [...served.matrix(m, items)].map((built) => step - built);
    assert.ok(Math.max(...ages) <= 2, `step ${step}: ages ${ages.join(', ')}`);
  }
});
