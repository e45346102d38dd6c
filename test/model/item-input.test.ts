import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { AdamW } from '../../src/model/adamw.js';
import { hybridFloats, hybridResiduals } from '../../src/model/item-input.js';
import { useWasm } from './helpers.js';

// Pure logic: the hybrid item input's gate, its growth and the optimizer moments that follow it.
before(useWasm);

const DIM = 3;

function embed(input: ReturnType<typeof hybridResiduals>, items: Float32Array[]): number[][] {
  const flat = new Float32Array(items.length * input.floatsPerItem);
  items.forEach((x, i) => flat.set(x, i * input.floatsPerItem));
  const t = input.embed(flat, items.length);
  const out = t.arraySync() as number[][];
  t.dispose();
  return out;
}

const close = (a: number[], b: number[]): boolean => a.length === b.length && a.every((x, i) => Math.abs(x - (b[i] as number)) < 1e-6);

test('hybrid input: content + gate x residual[row]; a new table reads content alone; row 0 and gate 0 never add', () => {
  const input = hybridResiduals(DIM, 10);
  try {
    assert.equal(input.floatsPerItem, DIM + 2);
    const c = Float32Array.of(0.6, 0, 0.8);
    assert.deepEqual(embed(input, [hybridFloats(c, 3, 1)]).map((r) => r.map((x) => Math.round(x * 1e6) / 1e6)), [[0.6, 0, 0.8]], 'residuals start at zero');
    const [param] = input.parameters();
    const rows = param!.variable.shape[0]!;
    const values = new Float32Array(rows * DIM);
    values.set([1, 2, 3], 3 * DIM);
    values.set([5, 5, 5], 0);
    param!.variable.assign(tf.tensor2d(values, [rows, DIM]));
    const [half, none, padding] = embed(input, [hybridFloats(c, 3, 0.5), hybridFloats(c, 3, 0), hybridFloats(c, 0, 0)]);
    assert.ok(close(half!, [1.1, 1, 2.3]), `gate 0.5: ${half}`);
    assert.ok(close(none!, [0.6, 0, 0.8]), `gate 0: ${none}`);
    assert.ok(close(padding!, [0.6, 0, 0.8]), `row 0 with gate 0: ${padding}`);
  } finally {
    input.dispose();
  }
});

test('hybrid input grows by doubling up to its bound, keeping trained rows, and AdamW grows its moments with it', () => {
  const input = hybridResiduals(DIM, 600);
  const [param] = input.parameters();
  const opt = new AdamW(input.parameters(), { learningRate: 0.1, weightDecay: 0, clipNorm: 0 });
  try {
    assert.equal(param!.variable.shape[0], 257, '256 rows and padding at first');
    assert.equal(input.reserve!(200), false, 'room already');
    // One step on row 5, so both the weights and the moments have a non-zero row to keep.
    const grads = tf.variableGrads(() => tf.sum(input.embed(hybridFloats(new Float32Array(DIM), 5, 1), 1)) as tf.Scalar, [param!.variable]);
    opt.applyGradients(grads.grads).dispose();
    const before = (param!.variable.arraySync() as number[][])[5]!;
    assert.ok(before.every((x) => x !== 0));
    assert.equal(input.reserve!(300), true);
    assert.equal(param!.variable.shape[0], 513, 'doubled');
    opt.resizeMoments();
    assert.deepEqual((param!.variable.arraySync() as number[][])[5], before, 'a trained row survives growth');
    const state = opt.getState();
    assert.deepEqual(state.m.item_residuals?.shape, [513, DIM]);
    assert.ok(Array.from(state.m.item_residuals!.values.subarray(5 * DIM, 6 * DIM)).every((x) => x !== 0), 'its moments too');
    assert.equal(input.reserve!(5000), true);
    assert.equal(param!.variable.shape[0], 601, 'never past the bound');
    assert.equal(input.reserve!(5000), false);
    opt.resizeMoments();
    // The next step runs on the grown table.
    const again = tf.variableGrads(() => tf.sum(input.embed(hybridFloats(new Float32Array(DIM), 600, 1), 1)) as tf.Scalar, [param!.variable]);
    opt.applyGradients(again.grads).dispose();
    assert.ok((param!.variable.arraySync() as number[][])[600]!.every((x) => x !== 0));
  } finally {
    opt.dispose();
    input.dispose();
  }
});
