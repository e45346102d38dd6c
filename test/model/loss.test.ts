import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { allActionInfoNce } from '../../src/model/loss.js';
import { useWasm } from './helpers.js';

before(useWasm);

// Three users; item A is a target of users 0 and 1, item B of users 0 and 2; user 2 has one real history row.
const history = [
  [1, 0, 0],
  [0.5, 0.5, 0],
  [0, 1, 0],
  [0, 0.8, 0.6],
  [-1, 1, 1],
  [9, 9, 9], // padding row: must be ignored
];
const historyUsers = [0, 0, 1, 1, 2, -1];
const targets = [
  [1, 0.2, 0],
  [0.3, 0.3, 0.9],
  [0.1, 1, 0],
  [0, 0.4, -1],
  [-0.5, 0.5, 1],
];
const targetUsers = [0, 0, 1, 1, 2];
const targetItems = ['A', 'B', 'A', 'C', 'B'];

/** The loss written out pair by pair, in float64, independent of the implementation. */
function referenceLoss(temperature: number): number {
  const cos = (a: number[], b: number[]) => {
    const dot = a.reduce((s, x, i) => s + x * (b[i] as number), 0);
    const na = Math.hypot(...a);
    const nb = Math.hypot(...b);
    return dot / (na * nb);
  };
  let total = 0;
  let count = 0;
  history.forEach((h, i) => {
    const u = historyUsers[i] as number;
    if (u < 0) return;
    targets.forEach((pos, j) => {
      if (targetUsers[j] !== u) return;
      const posLogit = cos(h, pos) / temperature;
      let denom = Math.exp(posLogit);
      targets.forEach((neg, k) => {
        if (targetUsers[k] === u || targetItems[k] === targetItems[j]) return;
        denom += Math.exp(cos(h, neg) / temperature);
      });
      total += -posLogit + Math.log(denom);
      count++;
    });
  });
  return total / count;
}

function implementationLoss(temperature: number): number {
  const t = tf.tidy(() =>
    allActionInfoNce(
      { vectors: tf.tensor2d(history), users: Int32Array.from(historyUsers) },
      { vectors: tf.tensor2d(targets), users: Int32Array.from(targetUsers), items: targetItems },
      temperature,
    ),
  );
  const v = t.dataSync()[0] as number;
  t.dispose();
  return v;
}

test('all-action InfoNCE equals a pair-by-pair computation (repeated items masked)', () => {
  for (const temperature of [1, 0.5, 0.05]) {
    const want = referenceLoss(temperature);
    const got = implementationLoss(temperature);
    assert.ok(Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want)), `T=${temperature}: got ${got}, want ${want}`);
  }
});

test('the repeated-item mask matters: without it the loss would differ', () => {
  // Same data with distinct ids everywhere: A and B repeats now count as negatives, so the loss must change.
  const distinct = ['A', 'B', 'A2', 'C', 'B2'];
  const t = tf.tidy(() =>
    allActionInfoNce(
      { vectors: tf.tensor2d(history), users: Int32Array.from(historyUsers) },
      { vectors: tf.tensor2d(targets), users: Int32Array.from(targetUsers), items: distinct },
      0.5,
    ),
  );
  const v = t.dataSync()[0] as number;
  t.dispose();
  assert.ok(Math.abs(v - implementationLoss(0.5)) > 1e-3);
});
