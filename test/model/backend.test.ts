import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { maxAbsDiff } from './helpers.js';

// Gathers with a gradient need UnsortedSegmentSum, which we register for wasm.
function gatherGrad(): Float32Array {
  return tf.tidy(() => {
    const w = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.gather(x, tf.tensor1d([0, 2, 2, 3], 'int32')), tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]))))(w);
    return g.dataSync() as Float32Array;
  });
}

test('auto picks wasm when the native backends are not installed', async () => {
  const chosen = await selectBackend('auto');
  assert.equal(chosen.choice, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.deepEqual(
    chosen.skipped.map((s) => s.choice),
    ['node-gpu', 'node'],
  );
});

test('forcing cpu works, and forcing an absent native backend is an error', async () => {
  const cpu = await selectBackend('cpu');
  assert.equal(cpu.choice, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  await assert.rejects(selectBackend('node'), /could not start/);
  const wasm = await selectBackend('wasm');
  assert.equal(wasm.tfBackend, 'wasm');
});

test('gather gradients run on wasm and agree with cpu', async () => {
  await selectBackend('cpu');
  const onCpu = gatherGrad();
  await selectBackend('wasm');
  const onWasm = gatherGrad();
  assert.deepEqual(Array.from(onCpu), [1, 2, 0, 0, 8, 10, 7, 8]);
  assert.ok(maxAbsDiff(onCpu, onWasm) < 1e-6);
});
