import assert from 'node:assert/strict';
import { test } from 'node:test';
import { priorsAt } from '../../src/popularity/index.js';

test('priorsAt: counts decayed to now, log-normalised by the largest; a count stamped after now is not decayed upwards', () => {
  const h = 1000;
  const counts = new Map([
    ['a', { count: 3, at: 0 }],
    ['b', { count: 2, at: 1000 }],
    ['c', { count: 1, at: 5000 }],
  ]);
  const p = priorsAt({ halfLifeMs: h, counts }, 1000);
  // At 1000: a = 1.5, b = 2, c = 1 (ahead of now, taken as is).
  assert.ok(Math.abs((p.get('b') as number) - 1) < 1e-6);
  assert.ok(Math.abs((p.get('a') as number) - Math.log(2.5) / Math.log(3)) < 1e-6);
  assert.ok(Math.abs((p.get('c') as number) - Math.log(2) / Math.log(3)) < 1e-6);
  assert.equal(priorsAt({ halfLifeMs: h, counts: new Map() }, 0).size, 0);
});
