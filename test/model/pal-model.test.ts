import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { PalModel } from '../../src/model/pal-model.js';
import { Rng } from '../../src/model/rng.js';
import { maxAbsDiff, randomUnit, tinyConfig, useWasm } from './helpers.js';

before(useWasm);

const cfg = tinyConfig();
const dc = cfg.contentDim;

function items(rng: Rng, n: number): Float32Array[] {
  return Array.from({ length: n }, () => randomUnit(rng, dc));
}

/** Runs the tower on one sequence laid out in T slots; `slots[t]` null means padding (filled with junk content). */
function encode(model: PalModel, slots: Array<Float32Array | null>, junk: Rng): Float32Array[] {
  const T = slots.length;
  const content = new Float32Array(T * dc);
  const mask = new Float32Array(T);
  slots.forEach((s, t) => {
    content.set(s ?? randomUnit(junk, dc).map((x) => x * 5), t * dc);
    mask[t] = s ? 1 : 0;
  });
  const out = tf.tidy(() => model.encodeSequences(tf.tensor3d(content, [1, T, dc]), tf.tensor2d(mask, [1, T])));
  const flat = out.dataSync() as Float32Array;
  out.dispose();
  return Array.from({ length: T }, (_, t) => flat.slice(t * cfg.outDim, (t + 1) * cfg.outDim));
}

test('causal: the output at t ignores items after t', () => {
  const model = new PalModel(cfg, 3);
  const rng = new Rng(11);
  const seq = items(rng, 6);
  const changed = [...seq.slice(0, 3), ...items(rng, 3)];
  const a = encode(model, seq, rng);
  const b = encode(model, changed, rng);
  for (let t = 0; t < 3; t++) assert.ok(maxAbsDiff(a[t]!, b[t]!) < 1e-5, `position ${t} changed`);
  for (let t = 3; t < 6; t++) assert.ok(maxAbsDiff(a[t]!, b[t]!) > 1e-3, `position ${t} should change`);
  model.dispose();
});

test('padding: junk in padded slots never reaches real positions, on either side', () => {
  const model = new PalModel(cfg, 4);
  const rng = new Rng(12);
  const seq = items(rng, 4);
  const plain = encode(model, seq, rng);
  const right1 = encode(model, [...seq, null, null, null], rng);
  const right2 = encode(model, [...seq, null, null, null], rng);
  const left = encode(model, [null, null, null, ...seq], rng);
  for (let t = 0; t < 4; t++) {
    assert.ok(maxAbsDiff(plain[t]!, right1[t]!) < 1e-5, `right padding moved position ${t}`);
    assert.ok(maxAbsDiff(right1[t]!, right2[t]!) < 1e-5, `padding content leaked into position ${t}`);
    assert.ok(maxAbsDiff(plain[t]!, left[t + 3]!) < 1e-5, `left padding moved position ${t}`);
  }
  model.dispose();
});

test('user vector = output at the last real position; item vector = one-item sequence; unit length', () => {
  const model = new PalModel(cfg, 5);
  const rng = new Rng(13);
  const seq = items(rng, 3);
  const perPosition = encode(model, seq, rng);
  const content = new Float32Array(2 * 5 * dc);
  const mask = new Float32Array(2 * 5);
  // Row 0 right-padded, row 1 left-padded.
  seq.forEach((v, t) => {
    content.set(v, t * dc);
    mask[t] = 1;
    content.set(v, (5 + 2 + t) * dc);
    mask[5 + 2 + t] = 1;
  });
  const users = tf.tidy(() => model.userVectors(tf.tensor3d(content, [2, 5, dc]), tf.tensor2d(mask, [2, 5])));
  const u = users.dataSync();
  users.dispose();
  assert.ok(maxAbsDiff(u.slice(0, cfg.outDim), perPosition[2]!) < 1e-5);
  assert.ok(maxAbsDiff(u.slice(cfg.outDim), perPosition[2]!) < 1e-5);

  const single = encode(model, [seq[1]!], rng)[0]!;
  const itemT = tf.tidy(() => model.itemVectors(tf.tensor2d(seq[1]!, [1, dc])));
  const item = itemT.dataSync();
  itemT.dispose();
  assert.ok(maxAbsDiff(item, single) < 1e-5);
  assert.ok(Math.abs(Array.from(item).reduce((s, x) => s + x * x, 0) - 1) < 1e-4);
  model.dispose();
});

test('seeded initialisation is reproducible; weights round-trip', () => {
  const a = new PalModel(cfg, 42);
  const b = new PalModel(cfg, 42);
  const c = new PalModel(cfg, 43);
  const wa = a.getWeights();
  const wb = b.getWeights();
  const wc = c.getWeights();
  assert.deepEqual(Object.keys(wa), Object.keys(wb));
  for (const k of Object.keys(wa)) assert.deepEqual(wa[k]!.values, wb[k]!.values, k);
  assert.notDeepEqual(wa['adapter/w']!.values, wc['adapter/w']!.values);
  c.setWeights(wa);
  for (const [k, v] of Object.entries(c.getWeights())) assert.deepEqual(v.values, wa[k]!.values, k);
  const bad = { ...wa, 'proj/w': { shape: [1, 1], values: new Float32Array(1) } };
  assert.throws(() => c.setWeights(bad), /proj\/w/);
  for (const m of [a, b, c]) m.dispose();
});

test('item tower shortcut (value projection only) equals the full tower on one-item sequences', () => {
  const model = new PalModel(tinyConfig({ layers: 3 }), 6);
  const rng = new Rng(14);
  const flat = new Float32Array(7 * dc);
  items(rng, 7).forEach((v, i) => flat.set(v.map((x) => x * (1 + i)), i * dc));
  const [fast, general] = tf.tidy(() => {
    const c = tf.tensor2d(flat, [7, dc]);
    return [model.itemVectors(c).dataSync(), model.itemVectorsGeneral(c).dataSync()];
  });
  assert.ok(maxAbsDiff(fast!, general!) < 1e-5, `shortcut differs by ${maxAbsDiff(fast!, general!)}`);
  assert.ok(maxAbsDiff(fast!, new Float32Array(fast!.length)) > 0.1, 'outputs are not all zero');
  model.dispose();
});

test('encodeAt gives encodeSequences at the chosen positions, padding on either side', () => {
  const model = new PalModel(cfg, 7);
  const rng = new Rng(15);
  const T = 6;
  const content = new Float32Array(2 * T * dc);
  const mask = new Float32Array(2 * T);
  items(rng, 2 * T).forEach((v, i) => content.set(v, i * dc));
  // Row 0: 4 real items left-padded; row 1: 5 real items right-padded.
  for (let t = 2; t < T; t++) mask[t] = 1;
  for (let t = 0; t < 5; t++) mask[T + t] = 1;
  const picks = [
    [5, 2, 3],
    [0, 4, 1],
  ];
  const [all, at] = tf.tidy(() => {
    const c = tf.tensor3d(content, [2, T, dc]);
    const m = tf.tensor2d(mask, [2, T]);
    return [model.encodeSequences(c, m).dataSync(), model.encodeAt(c, m, tf.tensor2d(picks.flat(), [2, 3], 'int32')).dataSync()];
  });
  const o = cfg.outDim;
  picks.forEach((row, b) =>
    row.forEach((p, q) => {
      const want = all!.slice((b * T + p) * o, (b * T + p + 1) * o);
      const got = at!.slice((b * 3 + q) * o, (b * 3 + q + 1) * o);
      assert.ok(maxAbsDiff(want, got) < 1e-5, `row ${b} position ${p}`);
    }),
  );
  model.dispose();
});
