import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { allActionInfoNce, DENSE_MASK_MAX_TARGETS, type NegativeMassForm, uniformityLoss } from '../../src/model/loss.js';
import { Rng } from '../../src/model/rng.js';
import { maxAbsDiff, useWasm } from './helpers.js';

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

// Catalogue samples: 'A' repeats a target item (never the negative of an 'A' positive), the others are new.
const sampled = [
  [0.2, -1, 0.3],
  [1, 0.1, 0.1],
  [0, 0, 1],
];
const sampledItems = ['S1', 'A', 'S3'];

/** The loss written out pair by pair, in float64, independent of the implementation. */
function referenceLoss(temperature: number, withSampled = false, bias?: { targets: number[]; sampled: number[] }): number {
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
      const posLogit = cos(h, pos) / temperature + (bias?.targets[j] ?? 0);
      let denom = Math.exp(posLogit);
      targets.forEach((neg, k) => {
        if (targetUsers[k] === u || targetItems[k] === targetItems[j]) return;
        denom += Math.exp(cos(h, neg) / temperature + (bias?.targets[k] ?? 0));
      });
      if (withSampled) {
        sampled.forEach((neg, k) => {
          if (sampledItems[k] !== targetItems[j]) denom += Math.exp(cos(h, neg) / temperature + (bias?.sampled[k] ?? 0));
        });
      }
      total += -posLogit + Math.log(denom);
      count++;
    });
  });
  return total / count;
}

function implementationLoss(temperature: number, withSampled = false, bias?: { targets: number[]; sampled: number[] }): number {
  const t = tf.tidy(() =>
    allActionInfoNce(
      { vectors: tf.tensor2d(history), users: Int32Array.from(historyUsers) },
      { vectors: tf.tensor2d(targets), users: Int32Array.from(targetUsers), items: targetItems },
      temperature,
      withSampled ? { vectors: tf.tensor2d(sampled), items: sampledItems } : undefined,
      bias && { targets: Float32Array.from(bias.targets), sampled: Float32Array.from(bias.sampled) },
    ),
  );
  const v = t.dataSync()[0] as number;
  t.dispose();
  return v;
}

// 0.01 takes the row-max shift, the others the constant 1/temperature shift.
test('all-action InfoNCE equals a pair-by-pair computation (repeated items masked)', () => {
  for (const temperature of [1, 0.5, 0.05, 0.01]) {
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

test('sampled catalogue negatives join every positive, except a sample of the positive item itself', () => {
  for (const temperature of [1, 0.2, 0.05, 0.01]) {
    const want = referenceLoss(temperature, true);
    const got = implementationLoss(temperature, true);
    assert.ok(Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want)), `T=${temperature}: got ${got}, want ${want}`);
    assert.ok(got > implementationLoss(temperature) + 1e-3, 'extra negatives must raise the loss');
  }
});

test('one user with sampled negatives has a loss (no in-batch negatives needed)', () => {
  const t = tf.tidy(() =>
    allActionInfoNce(
      { vectors: tf.tensor2d([history[0] as number[]]), users: Int32Array.of(0) },
      { vectors: tf.tensor2d([targets[0] as number[]]), users: Int32Array.of(0), items: ['A'] },
      0.5,
      { vectors: tf.tensor2d(sampled), items: sampledItems },
    ),
  );
  const v = t.dataSync()[0] as number;
  t.dispose();
  const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * (b[i] as number), 0) / (Math.hypot(...a) * Math.hypot(...b));
  const h = history[0] as number[];
  const pos = cos(h, targets[0] as number[]) / 0.5;
  const denom = Math.exp(pos) + Math.exp(cos(h, sampled[0] as number[]) / 0.5) + Math.exp(cos(h, sampled[2] as number[]) / 0.5);
  assert.ok(Math.abs(v - (Math.log(denom) - pos)) < 1e-4, `got ${v}`);
});

// Issue 14, the logQ lever: a per-candidate bias on every logit of its column, the positive's included.
test('a column bias (the logQ correction) is added to every logit of its candidate, on both sides', () => {
  const bias = { targets: [-0.7, 0.4, -0.7, 1.2, 0.4], sampled: [0.9, -0.7, 0.1] };
  for (const temperature of [1, 0.2, 0.01]) {
    const want = referenceLoss(temperature, true, bias);
    const got = implementationLoss(temperature, true, bias);
    assert.ok(Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want)), `T=${temperature}: got ${got}, want ${want}`);
    assert.ok(Math.abs(got - implementationLoss(temperature, true)) > 1e-3, 'the bias must change the loss');
  }
  // The same bias on every column changes nothing (softmax is shift-invariant).
  const flat = { targets: targets.map(() => 2.5), sampled: sampled.map(() => 2.5) };
  assert.ok(Math.abs(implementationLoss(0.2, true, flat) - implementationLoss(0.2, true)) < 1e-4);
});

// Issue 22 item 7: the uniformity term against outputs collapsed onto one direction.
test('uniformity: 0 for identical directions, -4 for mutually orthogonal rows, padding rows left out', () => {
  const value = (rows: number[][], valid?: number[]): number =>
    tf.tidy(() => uniformityLoss(tf.tensor2d(rows), valid ? Float32Array.from(valid) : undefined).dataSync()[0] as number);
  assert.ok(Math.abs(value([[1, 1, 0], [2, 2, 0], [3, 3, 0]]) - 0) < 1e-5);
  assert.ok(Math.abs(value([[1, 0, 0], [0, 2, 0], [0, 0, 3]]) - -4) < 1e-5);
  // Two orthogonal rows plus a padding row on top of the first: the padding row must not count as a close pair.
  assert.ok(Math.abs(value([[1, 0], [0, 1], [1, 0]], [1, 1, 0]) - -4) < 1e-5);
  assert.equal(value([[1, 0]]), 0, 'one row: no pair');
});

test('uniformity: its gradient pushes apart rows that share a direction', () => {
  const x = tf.variable(tf.tensor2d([[1, 0.1], [1, -0.1], [1, 0]]));
  const cosines = (): number[] => {
    const v = x.arraySync();
    const unit = v.map((r) => r.map((c) => c / Math.hypot(...r)));
    return [[0, 1], [0, 2], [1, 2]].map(([a, b]) => unit[a!]!.reduce((s, c, d) => s + c * unit[b!]![d]!, 0));
  };
  const before = cosines();
  for (let i = 0; i < 20; i++) {
    const { grads } = tf.variableGrads(() => uniformityLoss(x as unknown as tf.Tensor2D), [x]);
    x.assign(tf.sub(x, tf.mul(grads[x.name]!, 0.1)));
    tf.dispose(grads);
  }
  const after = cosines();
  after.forEach((c, i) => assert.ok(c < before[i]! - 1e-3, `pair ${i}: cosine ${before[i]} -> ${c}`));
  x.dispose();
});

// Issue 25: a grown window (thousands of targets) sums its negatives by segments, O(R M), instead of the [M, M] mask.
test('the segment-sum form of the negative mass equals the dense form, in value and gradients', () => {
  const rng = new Rng(7);
  const d = 6;
  const rows = (n: number): number[][] => Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
  const R = 30;
  const M = 56;
  const N = 10;
  // History rows of users 0-5 and 7 (7 has no targets), padding rows (-1); targets of users 0-6 (6 has no history).
  const historyUsers = Int32Array.from({ length: R }, (_, i) => (i % 8 === 7 ? -1 : i % 8 === 6 ? 7 : i % 8));
  const targetUsers = Int32Array.from({ length: M }, (_, j) => Math.floor(j / 8));
  // 8 targets per user over 7 items: every user repeats an item (a repeated (user, item) pair), and items repeat
  // across users. Samples: two repeat target items, one of them twice, and one repeats another sample.
  const targetItems = Array.from({ length: M }, (_, j) => `i${(j * 5) % 7}`);
  const sampledItems = ['i0', 'x1', 'i4', 'x1', 'i0', 'x4', 'x5', 'x6', 'x7', 'x8'];
  assert.equal(sampledItems.length, N);
  for (let u = 0; u < 7; u++) {
    const own = targetItems.filter((_, j) => targetUsers[j] === u);
    assert.ok(new Set(own).size < own.length, `user ${u} must repeat an item`);
  }
  const h = tf.variable(tf.tensor2d(rows(R)));
  const t = tf.variable(tf.tensor2d(rows(M)));
  const s = tf.variable(tf.tensor2d(rows(N)));
  const bias = { targets: Float32Array.from({ length: M }, () => rng.normal() * 0.5), sampled: Float32Array.from({ length: N }, () => rng.normal() * 0.5) };
  const run = (form: NegativeMassForm, temperature: number, withBias: boolean) => {
    const { value, grads } = tf.variableGrads(
      () =>
        allActionInfoNce(
          { vectors: h as unknown as tf.Tensor2D, users: historyUsers },
          { vectors: t as unknown as tf.Tensor2D, users: targetUsers, items: targetItems },
          temperature,
          { vectors: s as unknown as tf.Tensor2D, items: sampledItems },
          withBias ? bias : undefined,
          form,
        ),
      [h, t, s],
    );
    const out = { loss: value.dataSync()[0] as number, grads: [h, t, s].map((v) => grads[v.name]!.dataSync() as Float32Array) };
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  };
  for (const [temperature, withBias] of [[0.2, false], [0.25, true], [1, true]] as const) {
    const dense = run('dense', temperature, withBias);
    const segments = run('segments', temperature, withBias);
    assert.ok(Math.abs(dense.loss - segments.loss) <= 1e-5 * Math.max(1, Math.abs(dense.loss)), `T=${temperature}: ${dense.loss} vs ${segments.loss}`);
    dense.grads.forEach((g, k) => {
      const scale = Math.max(...Array.from(g, Math.abs));
      assert.ok(scale > 0, 'the gradient must not vanish');
      assert.ok(maxAbsDiff(g, segments.grads[k]!) <= 1e-4 * scale, `T=${temperature}, input ${k}: gradients differ by ${maxAbsDiff(g, segments.grads[k]!)} (scale ${scale})`);
    });
  }
  // The repeated-item masks matter: with every item made distinct the value changes.
  const unique = tf.tidy(() =>
    allActionInfoNce(
      { vectors: h as unknown as tf.Tensor2D, users: historyUsers },
      { vectors: t as unknown as tf.Tensor2D, users: targetUsers, items: targetItems.map((it, j) => `${it}-${j}`) },
      0.2,
      undefined,
      undefined,
      'segments',
    ).dataSync()[0] as number,
  );
  assert.ok(Math.abs(unique - run('segments', 0.2, false).loss) > 1e-3);
  tf.dispose([h, t, s]);
});

test('above the dense bound the loss takes the segment form by itself, with the same value', () => {
  const rng = new Rng(3);
  const M = DENSE_MASK_MAX_TARGETS + 40;
  const R = 20;
  const vec = (n: number) => tf.tensor2d(Array.from({ length: n * 4 }, () => rng.normal()), [n, 4]);
  const users = Int32Array.from({ length: M }, (_, j) => j % 10);
  const items = Array.from({ length: M }, (_, j) => j % 97);
  const hv = vec(R);
  const tv = vec(M);
  const value = (form: NegativeMassForm): number =>
    tf.tidy(() => allActionInfoNce({ vectors: hv, users: Int32Array.from({ length: R }, (_, i) => i % 10) }, { vectors: tv, users, items }, 0.2, undefined, undefined, form).dataSync()[0] as number);
  const auto = value('auto');
  assert.equal(auto, value('segments'));
  assert.ok(Math.abs(auto - value('dense')) <= 1e-5 * Math.abs(auto));
  // A temperature whose logits span more than the segment form's precision allows keeps the dense form.
  const at = (temperature: number, form: NegativeMassForm): number =>
    tf.tidy(() => allActionInfoNce({ vectors: hv, users: Int32Array.from({ length: R }, (_, i) => i % 10) }, { vectors: tv, users, items }, temperature, undefined, undefined, form).dataSync()[0] as number);
  assert.equal(at(0.05, 'auto'), at(0.05, 'dense'));
  assert.throws(() => at(0.05, 'segments'), /logit range of at most 12/);
  tf.dispose([hv, tv]);
});
