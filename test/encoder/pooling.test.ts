import assert from 'node:assert/strict';
import { test } from 'node:test';
import { l2Normalise, poolHiddenStates, type HiddenStates } from '../../src/encoder/pooling.js';

// batch 2, seq 3, hidden 2; row 0 has 2 real tokens, row 1 has 3.
const h: HiddenStates = {
  data: Float32Array.from([
    1, 0, /**/ 3, 4, /**/ 100, 100, // row 0: last position is padding
    0, 2, /**/ 2, 0, /**/ 4, 4,
  ]),
  batch: 2,
  seq: 3,
  hidden: 2,
};
const mask = BigInt64Array.from([1n, 1n, 0n, 1n, 1n, 1n]);

function close(actual: Float32Array, expected: number[]): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) < 1e-6, `[${i}] ${actual[i]} != ${e}`));
}

function unit(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

test('mean pooling averages only the masked-in positions, then normalises', () => {
  const [a, b] = poolHiddenStates(h, mask, 'mean');
  close(a!, unit([2, 2])); // (1,0)+(3,4) over 2; the padding's 100s are ignored
  close(b!, unit([2, 2])); // (0,2)+(2,0)+(4,4) over 3
});

test('cls pooling takes the first position', () => {
  const [a, b] = poolHiddenStates(h, mask, 'cls');
  close(a!, [1, 0]);
  close(b!, [0, 1]);
});

test('last-token pooling takes the last real position, skipping padding', () => {
  const [a, b] = poolHiddenStates(h, mask, 'last-token');
  close(a!, [0.6, 0.8]); // (3,4), not the padded (100,100)
  close(b!, unit([4, 4]));
});

test('a number[] mask works like a bigint mask', () => {
  const [a] = poolHiddenStates(h, [1, 1, 0, 1, 1, 1], 'mean');
  close(a!, unit([2, 2]));
});

test('l2Normalise leaves a zero vector at zero', () => {
  close(l2Normalise(new Float32Array(3)), [0, 0, 0]);
});

test('shape mismatches are rejected', () => {
  assert.throws(() => poolHiddenStates({ ...h, hidden: 3 }, mask, 'mean'), /expected 2x3x3/);
  assert.throws(() => poolHiddenStates(h, [1, 1], 'mean'), /attention mask/);
});
