import assert from 'node:assert/strict';
import { test } from 'node:test';
import { leastSquares } from '../../src/bench/slope.js';

test('leastSquares recovers an exact line and fits noise around it', () => {
  assert.deepEqual(leastSquares([1, 2, 3, 4], [5, 7, 9, 11]), { slope: 2, intercept: 3 });
  // Residuals +1, -1, -1, +1 around y = x are symmetric: the fit is y = x.
  const fit = leastSquares([0, 1, 2, 3], [1, 0, 1, 4]);
  assert.ok(Math.abs(fit.slope - 1) < 1e-12 && Math.abs(fit.intercept - 0) < 1e-12, JSON.stringify(fit));
  assert.equal(leastSquares([1, 2, 3], [4, 4, 4]).slope, 0);
});

test('leastSquares refuses mismatched inputs and has no slope over one x', () => {
  assert.throws(() => leastSquares([1, 2], [1]), /2 x against 1 y/);
  assert.ok(Number.isNaN(leastSquares([2, 2], [1, 3]).slope));
});
