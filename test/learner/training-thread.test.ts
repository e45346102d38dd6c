import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { before, test } from 'node:test';
import type { UserEvent } from '../../src/codec/index.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { toItemContent } from '../../src/encoder/item-content.js';
import { ContentTable } from '../../src/learner/content-table.js';
import { OnlineModel } from '../../src/learner/online-model.js';
import { Rng } from '../../src/model/index.js';
import { randomUnit, useWasm } from '../model/helpers.js';

// The model in memory with its steps in the training thread (worker_threads), no broker, no Redis.
let cfg: Config;
const DIM = 12;

before(async () => {
  await useWasm();
  cfg = { ...loadConfig({}), palDim: 16, palLayers: 1, palHeads: 2, palOutDim: 8, historyLen: 6, negativeSamples: 4, historySamples: 3, targetSamples: 4, stepsPerBatch: 2 };
});

function catalogue(n: number, seed = 5): ContentTable {
  const rng = new Rng(seed);
  const t = new ContentTable();
  for (let i = 0; i < n; i++) t.apply(`i${i}`, toItemContent(`i${i}`, '', 'test', randomUnit(rng, DIM)));
  return t;
}

/** `n` windows of `users` users with 1-3 events each, item ids drawn from a seeded generator. */
function windows(n: number, users: number, items: number): Map<string, UserEvent[]>[] {
  const rng = new Rng(11);
  let ts = 0;
  return Array.from({ length: n }, () => {
    const m = new Map<string, UserEvent[]>();
    while (m.size < users) {
      const user = `u${rng.int(users * 2)}`;
      const k = 1 + rng.int(3);
      m.set(user, [...(m.get(user) ?? []), ...Array.from({ length: k }, () => ({ event_id: `e${ts}`, user_id: user, item_id: `i${rng.int(items)}`, type: 'click', ts: ts++, weight: null }))]);
    }
    return m;
  });
}

for (const itemInput of ['content', 'hybrid'] as const) {
  test(`weights after N windows trained in the thread equal the in-loop ones for the same windows (${itemInput})`, async () => {
    const settings = { ...cfg, itemInput };
    const inLoop = OnlineModel.fresh(settings, catalogue(40), DIM);
    const offLoop = OnlineModel.fresh(settings, catalogue(40), DIM);
    await offLoop.trainOffLoop('wasm', (err) => assert.fail(err));
    try {
      const losses: Array<[number, number]> = [];
      for (const events of windows(6, 5, 40)) {
        const a = inLoop.learnWindow({ events, examples: inLoop.examplesOf(events) });
        const b = await offLoop.learnWindowOffLoop({ events, examples: offLoop.examplesOf(events) });
        losses.push([a, b]);
      }
      for (const [a, b] of losses) assert.equal(b, a, 'the same loss at every window');
      assert.ok(inLoop.step > 0);
      assert.equal(offLoop.step, inLoop.step, 'the weights version is the step they follow');
      const want = inLoop.state();
      const got = await offLoop.stateNow();
      assert.deepEqual(got.state, want.state);
      assert.deepEqual(Object.keys(got.arrays).sort(), Object.keys(want.arrays).sort());
      for (const [k, v] of Object.entries(want.arrays)) assert.deepEqual(got.arrays[k], v, `${k} differs`);
      // The inference copy serves the thread's weights.
      const users = ['u0', 'u1', 'u2'];
      assert.deepEqual(offLoop.userVectors(users), inLoop.userVectors(users));
      assert.deepEqual(offLoop.itemMatrix(['i1', 'i2']), inLoop.itemMatrix(['i1', 'i2']));
    } finally {
      inLoop.dispose();
      await offLoop.close();
    }
  });
}

test('a step in the thread leaves the event loop free: timers fire and the loop delay stays low while it runs', async () => {
  // A window big enough that its step takes a while on one thread.
  const settings = { ...cfg, palDim: 64, palLayers: 2, palHeads: 2, palOutDim: 32, historyLen: 50, negativeSamples: 128, targetSamples: 50, historySamples: 10, stepsPerBatch: 4 };
  const model = OnlineModel.fresh(settings, catalogue(400), DIM);
  await model.trainOffLoop('wasm', (err) => assert.fail(err));
  try {
    const [first, second] = windows(2, 64, 400);
    await model.learnWindowOffLoop({ events: first!, examples: model.examplesOf(first!) });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    let done = false;
    const started = performance.now();
    const step = model.learnWindowOffLoop({ events: second!, examples: model.examplesOf(second!) }).then((loss) => {
      done = true;
      return loss;
    });
    // The step is asked for; while it runs, this thread keeps turning.
    await new Promise((r) => setTimeout(r, 5));
    const ticksDuring = ticks;
    const doneEarly = done;
    const loss = await step;
    const stepMs = performance.now() - started;
    delay.disable();
    clearInterval(timer);
    assert.ok(Number.isFinite(loss) && loss > 0, `loss ${loss}`);
    assert.equal(doneEarly, false, 'the step was still running when the timer checked (make the window bigger if not)');
    assert.ok(ticksDuring >= 1, 'a timer fired while the step ran');
    const worstMs = delay.max / 1e6;
    assert.ok(worstMs < stepMs, `the loop never waited a whole step (worst delay ${worstMs.toFixed(1)} ms, step ${stepMs.toFixed(0)} ms)`);
    assert.equal(model.step, settings.stepsPerBatch, 'the second window stepped (the first had no histories)');
  } finally {
    await model.close();
  }
});
