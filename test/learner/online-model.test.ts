import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { toItemContent } from '../../src/encoder/item-content.js';
import { ContentTable } from '../../src/learner/content-table.js';
import { OnlineModel } from '../../src/learner/online-model.js';
import { Rng } from '../../src/model/index.js';
import { randomUnit, useWasm } from '../model/helpers.js';

// Pure logic: the model in memory, no broker, no Redis.
let cfg: Config;
const DIM = 12;

before(async () => {
  await useWasm();
  cfg = { ...loadConfig({}), palDim: 16, palLayers: 1, palHeads: 2, palOutDim: 8, historyLen: 6, negativeSamples: 4, historySamples: 3, targetSamples: 4, dropout: 0 };
});

function catalogue(n: number, seed = 5): ContentTable {
  const rng = new Rng(seed);
  const t = new ContentTable();
  for (let i = 0; i < n; i++) t.apply(`i${i}`, toItemContent(`i${i}`, '', 'test', randomUnit(rng, DIM)));
  return t;
}

const ev = (id: string, user: string, item: string, ts: number): UserEvent => ({ event_id: id, user_id: user, item_id: item, type: 'click', ts, weight: null });

function window(events: UserEvent[]): Map<string, UserEvent[]> {
  const m = new Map<string, UserEvent[]>();
  for (const e of events) m.set(e.user_id, [...(m.get(e.user_id) ?? []), e]);
  return m;
}

test('learnWindow trains on the history before the window and then appends the window to the histories', () => {
  const model = OnlineModel.fresh(cfg, catalogue(20), DIM);
  try {
    const first = window([ev('a', 'u1', 'i1', 1), ev('b', 'u2', 'i2', 2)]);
    const ex = model.examplesOf(first);
    assert.deepEqual(ex.get('u1')?.history, [], 'no history before the first window');
    assert.deepEqual(ex.get('u1')?.targets.map((r) => r.itemId), ['i1']);
    model.learnWindow({ events: first, examples: ex });
    assert.equal(model.step, 0, 'nothing to contrast without a history: no step');
    assert.deepEqual(model.history('u1')?.items, ['i1']);
    const second = window([ev('c', 'u1', 'i3', 3), ev('d', 'u1', 'i4', 4), ev('e', 'u2', 'i5', 5), ev('f', 'u9', 'missing', 6)]);
    const ex2 = model.examplesOf(second);
    assert.deepEqual(ex2.get('u1')?.history.map((r) => r.itemId), ['i1']);
    assert.deepEqual(ex2.get('u9')?.targets, [], 'an item without content is no target');
    const loss = model.learnWindow({ events: second, examples: ex2 });
    assert.ok(loss > 0 && Number.isFinite(loss), `loss ${loss}`);
    assert.equal(model.step, cfg.stepsPerBatch);
    assert.deepEqual(model.history('u1')?.items, ['i1', 'i3', 'i4']);
    assert.equal(model.users, 3);
    assert.deepEqual(model.recentUsers(2), ['u9', 'u2']);
  } finally {
    model.dispose();
  }
});

test('user and item vectors: unit length, absent without history or content, and equal to userVectorsOf the same history', () => {
  const model = OnlineModel.fresh(cfg, catalogue(10), DIM);
  try {
    model.observe(window([ev('a', 'u1', 'i1', 1), ev('b', 'u1', 'i2', 2), ev('c', 'u2', 'nope', 3)]));
    const users = model.userVectors(['u1', 'u2', 'u3']);
    assert.deepEqual([...users.keys()], ['u1']);
    const u1 = users.get('u1')!;
    assert.ok(Math.abs(Math.hypot(...u1) - 1) < 1e-5);
    const [again] = model.userVectorsOf([['i1', 'i2'].map((itemId) => ({ itemId, content: model.content.get(itemId)! }))]);
    assert.deepEqual(Array.from(again!), Array.from(u1));
    const items = model.itemVectors(['i3', 'zzz']);
    assert.deepEqual([...items.keys()], ['i3']);
    const matrix = model.itemMatrix(['i3']);
    assert.deepEqual(Array.from(matrix), Array.from(items.get('i3')!));
  } finally {
    model.dispose();
  }
});

test('state() and restore() give the same model: vectors, histories, step and the next step\'s loss', () => {
  const content = catalogue(30);
  const a = OnlineModel.fresh(cfg, content, DIM);
  const rng = new Rng(9);
  const windows = Array.from({ length: 4 }, (_, w) => window(Array.from({ length: 6 }, (_, k) => ev(`e${w}-${k}`, `u${rng.int(4)}`, `i${rng.int(30)}`, w * 10 + k))));
  for (const w of windows.slice(0, 3)) a.learnWindow({ events: w, examples: a.examplesOf(w) });
  const { state, arrays } = a.state();
  const b = OnlineModel.restore(cfg, content, structuredClone(state), arrays);
  try {
    assert.equal(b.step, a.step);
    assert.ok(a.step > 0);
    assert.deepEqual(b.history('u1'), a.history('u1'));
    assert.deepEqual([...b.userVectors(['u0', 'u1', 'u2', 'u3'])], [...a.userVectors(['u0', 'u1', 'u2', 'u3'])]);
    const last = windows[3]!;
    assert.equal(b.learnWindow({ events: last, examples: b.examplesOf(last) }), a.learnWindow({ events: last, examples: a.examplesOf(last) }));
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('rehearsal: each step joins recent windows unless told not to, and state() / restore() keep the buffer', () => {
  const content = catalogue(30);
  const rng = new Rng(13);
  const windows = Array.from({ length: 6 }, (_, w) => window(Array.from({ length: 6 }, (_, k) => ev(`e${w}-${k}`, `u${rng.int(4)}`, `i${rng.int(30)}`, w * 10 + k))));
  const plain = OnlineModel.fresh({ ...cfg, rehearsalWindows: 0 }, content, DIM);
  const skipping = OnlineModel.fresh({ ...cfg, rehearsalWindows: 4, rehearsalSamples: 2 }, content, DIM);
  const rehearsing = OnlineModel.fresh({ ...cfg, rehearsalWindows: 4, rehearsalSamples: 2 }, content, DIM);
  let restored: OnlineModel | undefined;
  let fewer: OnlineModel | undefined;
  try {
    const losses = (m: OnlineModel, ws: typeof windows, rehearse = true): number[] => ws.map((w) => m.learnWindow({ events: w, examples: m.examplesOf(w) }, undefined, rehearse));
    const plainLosses = losses(plain, windows.slice(0, 4));
    assert.deepEqual(losses(skipping, windows.slice(0, 4), false), plainLosses, 'told not to rehearse: the same steps as no rehearsal at all');
    const rehearsed = losses(rehearsing, windows.slice(0, 4));
    assert.notEqual(rehearsed[3], plainLosses[3], 'later windows train with rehearsed ones joined');
    const { state, arrays } = rehearsing.state();
    assert.equal(state.rehearsal?.length, 4);
    restored = OnlineModel.restore({ ...cfg, rehearsalWindows: 4, rehearsalSamples: 2 }, content, structuredClone(state), arrays);
    const next = windows[4]!;
    assert.equal(
      restored.learnWindow({ events: next, examples: restored.examplesOf(next) }),
      rehearsing.learnWindow({ events: next, examples: rehearsing.examplesOf(next) }),
      'a restored model rehearses what the saved one would',
    );
    fewer = OnlineModel.restore({ ...cfg, rehearsalWindows: 2 }, content, structuredClone(state), arrays);
    assert.equal(fewer.state().state.rehearsal?.length, 2, 'a restart with fewer windows keeps the newest');
  } finally {
    for (const m of [plain, skipping, rehearsing, restored, fewer]) m?.dispose();
  }
});

test('hybrid item input: items get residual rows as they are trained on, and state() / restore() keep table, rows and counts', () => {
  const hybridCfg: Config = { ...cfg, itemInput: 'hybrid', hybridGateK: 2 };
  const content = catalogue(30);
  const a = OnlineModel.fresh(hybridCfg, content, DIM);
  const fresh = OnlineModel.fresh(cfg, content, DIM);
  const rng = new Rng(11);
  const windows = Array.from({ length: 5 }, (_, w) => window(Array.from({ length: 6 }, (_, k) => ev(`e${w}-${k}`, `u${rng.int(4)}`, `i${rng.int(30)}`, w * 10 + k))));
  let b: OnlineModel | undefined;
  try {
    assert.deepEqual(Array.from(a.itemMatrix(['i1', 'i2'])), Array.from(fresh.itemMatrix(['i1', 'i2'])), 'before any training: content alone, the same tower');
    for (const w of windows.slice(0, 4)) a.learnWindow({ events: w, examples: a.examplesOf(w) });
    const trainedOn = windows.slice(0, 4).flatMap((w) => [...w.values()].flat().map((e) => e.item_id));
    const someItem = trainedOn[0]!;
    assert.equal(a.interactionsOf(someItem), trainedOn.filter((i) => i === someItem).length);
    const untouched = Array.from({ length: 30 }, (_, i) => `i${i}`).find((i) => !trainedOn.includes(i));
    if (untouched) assert.equal(a.interactionsOf(untouched), 0);
    const { state, arrays } = a.state();
    assert.ok(state.hybrid && state.hybrid.items.length > 0);
    assert.ok(arrays['w/input/item_residuals'] && arrays['m/item_residuals'], 'the residual table and its moments are saved');
    assert.ok(Array.from(arrays['w/input/item_residuals']!.values).some((x) => x !== 0), 'residuals were trained');
    b = OnlineModel.restore(hybridCfg, content, structuredClone(state), arrays);
    assert.equal(b.interactionsOf(someItem), a.interactionsOf(someItem));
    const ids = Array.from({ length: 30 }, (_, i) => `i${i}`);
    assert.deepEqual(Array.from(b.itemMatrix(ids)), Array.from(a.itemMatrix(ids)));
    assert.deepEqual([...b.userVectors(['u0', 'u1', 'u2', 'u3'])], [...a.userVectors(['u0', 'u1', 'u2', 'u3'])]);
    const last = windows[4]!;
    assert.equal(b.learnWindow({ events: last, examples: b.examplesOf(last) }), a.learnWindow({ events: last, examples: a.examplesOf(last) }));
    assert.throws(() => OnlineModel.restore(cfg, content, structuredClone(state), arrays), /LEARN_ITEM_INPUT is content/);
  } finally {
    a.dispose();
    fresh.dispose();
    b?.dispose();
  }
});

test('no tensor outlives a window: training steps, user vectors and item vectors leave tf.memory() numTensors and numBytes as they were', async () => {
  const tf = await import('@tensorflow/tfjs');
  const model = OnlineModel.fresh(cfg, catalogue(30), DIM);
  try {
    const windowAt = (k: number) => window(Array.from({ length: 8 }, (_, j) => ev(`e${k}-${j}`, `u${j % 4}`, `i${(k * 7 + j * 3) % 30}`, k * 10 + j)));
    // The first window has no history (no step); the second builds the optimizer's lazily made tensors, if any.
    for (const k of [0, 1]) model.learnWindow({ events: windowAt(k), examples: model.examplesOf(windowAt(k)) });
    const before = tf.memory();
    for (let k = 2; k < 6; k++) {
      const w = windowAt(k);
      assert.ok(model.learnWindow({ events: w, examples: model.examplesOf(w) }) > 0);
      assert.equal(model.userVectors(['u0', 'u1', 'u2', 'u3']).size, 4);
      assert.equal(model.itemVectors(['i0', 'i1', 'i2']).size, 3);
      model.itemMatrix(Array.from({ length: 30 }, (_, i) => `i${i}`));
      model.state();
    }
    const after = tf.memory();
    assert.equal(after.numTensors, before.numTensors, 'live tensors');
    assert.equal(after.numBytes, before.numBytes, 'live tensor bytes');
  } finally {
    model.dispose();
  }
});

test('a window learned with keep false (grown while a step ran) trains but does not join the rehearsal buffer', () => {
  // Issue 25: windows grown under load (up to 4,096 events) joined the buffer, and the first small window after the
  // burst rehearsed two of them: one 57-event step took 69 s in `learn bench load` and nothing trained meanwhile.
  const content = catalogue(30);
  const rng = new Rng(17);
  const windows = Array.from({ length: 3 }, (_, w) => window(Array.from({ length: 6 }, (_, k) => ev(`g${w}-${k}`, `u${rng.int(4)}`, `i${rng.int(30)}`, w * 10 + k))));
  const model = OnlineModel.fresh({ ...cfg, rehearsalWindows: 4, rehearsalSamples: 2 }, content, DIM);
  try {
    const learn = (w: (typeof windows)[number], keep: boolean): number => model.learnWindow({ events: w, examples: model.examplesOf(w) }, undefined, false, keep);
    learn(windows[0]!, true);
    const kept = model.state().state.rehearsal;
    assert.equal(kept?.length, 1);
    const before = model.step;
    learn(windows[1]!, false);
    assert.equal(model.step, before + cfg.stepsPerBatch, 'it trains');
    assert.deepEqual(model.state().state.rehearsal, kept, 'the buffer is as before it');
    learn(windows[2]!, true);
    assert.equal(model.state().state.rehearsal?.length, 2);
  } finally {
    model.dispose();
  }
});
