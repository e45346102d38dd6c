import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { gelu, geluAutodiff } from '../../src/model/ops.js';
import { Rng } from '../../src/model/rng.js';
import { maxAbsDiff, useWasm } from './helpers.js';

before(useWasm);

test('GELU: the hand-written gradient equals autodiff of the forward chain, values equal', () => {
  const rng = new Rng(21);
  const values = Float32Array.from({ length: 600 }, (_, i) => rng.normal() * (i < 300 ? 1 : 4));
  const upstream = Float32Array.from({ length: 600 }, () => rng.normal());
  const [fast, reference] = [gelu, geluAutodiff].map((f) =>
    tf.tidy(() => {
      const x = tf.tensor2d(values, [20, 30]);
      const dy = tf.tensor2d(upstream, [20, 30]);
      const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => tf.sum(tf.mul(f(t), dy)))(x);
      return { value: value.dataSync()[0] as number, grad: grad.dataSync(), y: f(x).dataSync() };
    }),
  );
  assert.ok(maxAbsDiff(fast!.y, reference!.y) < 1e-5, 'values');
  assert.ok(maxAbsDiff(fast!.grad, reference!.grad) < 1e-4, `gradients differ by ${maxAbsDiff(fast!.grad, reference!.grad)}`);
  assert.ok(Math.abs(fast!.value - reference!.value) < 1e-3);
  assert.ok(maxAbsDiff(fast!.grad, new Float32Array(600)) > 0.1, 'gradient is not all zero');
});
