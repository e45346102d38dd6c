import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../src/model/backend.js';
import { nativeReadiness } from '../../src/native/status.js';
import { maxAbsDiff } from './helpers.js';

// Gathers with a gradient need UnsortedSegmentSum, which we register for wasm.
function gatherGrad(): Float32Array {
  return tf.tidy(() => {
    const w = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.gather(x, tf.tensor1d([0, 2, 2, 3], 'int32')), tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2]))))(w);
    return g.dataSync() as Float32Array;
  });
}

test('auto picks the native backend when its binding is built, else wasm, and says why', async () => {
  const native = nativeReadiness();
  const chosen = await selectBackend('auto');
  if (native.ready) {
    assert.equal(chosen.choice, 'node');
    assert.equal(tf.getBackend(), 'tensorflow');
  } else {
    assert.equal(chosen.choice, 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.deepEqual(
      chosen.skipped.map((s) => s.choice),
      ['node-gpu', 'node'],
    );
    assert.equal(chosen.skipped[1]?.reason, native.reason);
  }
});

test('forcing cpu works, and forcing an unavailable native backend is an error', async () => {
  const cpu = await selectBackend('cpu');
  assert.equal(cpu.choice, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  // The GPU package is never set up by this project (docs/native.md), so forcing it fails with the missing piece.
  await assert.rejects(selectBackend('node-gpu'), /could not start: .*(not installed|not fetched|not built)/);
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

test('threaded wasm: 2 XNNPACK threads in Node, the same matmul as one thread, and the process still exits', () => {
  // A backend's module is instantiated once per process: each thread count runs in its own child.
  const backend = fileURLToPath(new URL('../../src/model/backend.js', import.meta.url));
  const script = (threads: number) => `
    import * as tf from '@tensorflow/tfjs';
    const { selectBackend } = await import(${JSON.stringify(backend)});
    const chosen = await selectBackend('wasm', { threads: ${threads} });
    const a = tf.tensor2d(Array.from({ length: 300 * 200 }, (_, i) => Math.sin(i)), [300, 200]);
    const b = tf.tensor2d(Array.from({ length: 200 * 100 }, (_, i) => Math.cos(i)), [200, 100]);
    process.stdout.write(JSON.stringify({ threads: chosen.threads, values: Array.from(tf.matMul(a, b).dataSync()) }));
  `;
  const run = (threads: number): { threads: number; values: number[] } => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script(threads)], { encoding: 'utf8', timeout: 60_000, cwd: process.cwd() });
    assert.equal(r.status, 0, `child with ${threads} threads: status ${r.status} signal ${r.signal}: ${r.stderr}`);
    return JSON.parse(r.stdout) as { threads: number; values: number[] };
  };
  const one = run(1);
  const two = run(2);
  assert.equal(one.threads, 1);
  assert.equal(two.threads, 2);
  assert.ok(maxAbsDiff(one.values, two.values) < 1e-3, 'threaded matmul differs');
});
