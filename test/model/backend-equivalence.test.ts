import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../src/model/backend.js';
import { buildPalBatch, type ItemRef, type UserExample } from '../../src/model/batch.js';
import { PalLearner } from '../../src/model/learner.js';
import { Rng } from '../../src/model/rng.js';
import { nativeReadiness } from '../../src/native/status.js';
import { randomUnit, tinyConfig } from './helpers.js';

// The tolerance the two backends must meet on one training step, both in float32 with different kernels (XNNPACK
// against TensorFlow's Eigen/oneDNN), so their sums round differently: the loss within 1e-5 relative, and every
// parameter's gradient within 1e-4 of that gradient's largest magnitude.
const LOSS_RTOL = 1e-5;
const GRAD_RTOL = 1e-4;

const native = nativeReadiness();

test(
  'one training step gives the same loss and gradients on wasm and on the native backend',
  { skip: native.ready ? false : `native binding not built (${native.reason})` },
  async () => {
    const cfg = tinyConfig({ contentDim: 32, dim: 32, outDim: 16, maxHistory: 12, historySamples: 4, targetSamples: 3, negativeSamples: 16 });
    const rng = new Rng(11);
    const items: ItemRef[] = Array.from({ length: 60 }, (_, i) => ({ itemId: `item${i}`, content: randomUnit(rng, cfg.contentDim) }));
    const pick = () => items[rng.int(items.length)] as ItemRef;
    const examples: UserExample[] = Array.from({ length: 8 }, () => ({
      history: Array.from({ length: 2 + rng.int(12) }, pick),
      targets: Array.from({ length: 1 + rng.int(3) }, pick),
    }));
    const batch = buildPalBatch(examples, cfg, rng, { size: items.length, at: (i) => items[i]! });

    await selectBackend('wasm');
    const onWasm = new PalLearner(cfg, 7);
    const a = onWasm.gradients(batch);
    const state = onWasm.getState();
    onWasm.dispose();

    await selectBackend('node');
    const onNode = new PalLearner(cfg, 7);
    onNode.setState(state);
    const b = onNode.gradients(batch);
    onNode.dispose();
    await selectBackend('wasm');

    assert.ok(Number.isFinite(a.loss) && a.loss > 0);
    assert.ok(Math.abs(a.loss - b.loss) <= LOSS_RTOL * Math.abs(a.loss), `loss ${a.loss} on wasm, ${b.loss} on node`);
    const names = Object.keys(a.grads);
    assert.ok(names.length > 10);
    assert.deepEqual(Object.keys(b.grads).sort(), [...names].sort());
    for (const name of names) {
      const ga = a.grads[name]!;
      const gb = b.grads[name]!;
      let scale = 0;
      let diff = 0;
      for (let i = 0; i < ga.length; i++) {
        scale = Math.max(scale, Math.abs(ga[i]!));
        diff = Math.max(diff, Math.abs(ga[i]! - gb[i]!));
      }
      assert.ok(diff <= GRAD_RTOL * scale + 1e-9, `${name}: max |wasm - node| ${diff.toExponential(2)} against max |g| ${scale.toExponential(2)}`);
    }
  },
);
