import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { ItemListing, UserEvent } from '../../src/codec/index.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { Rng } from '../../src/model/index.js';
import { DAY_MS, ReplayEvaluator, replayInProcess, type EvaluatorOptions, type UpdateMode } from '../../src/replay/index.js';
import { ListedCatalogue, REPLAY_KS, type ReplayPlan } from '../../src/replay/protocol.js';
import { randomUnit, useWasm } from '../model/helpers.js';

// The in-process driver on a synthetic stream with given content vectors: no broker, no encoder.
let cfg: Config;
const DIM = 12;
const rng = new Rng(17);
const listings: ItemListing[] = Array.from({ length: 40 }, (_, i) => ({ item_id: `i${i}`, title: `item ${i}`, category: null, brand: null, price: null, keywords: null, attributes: null, listed_at: i * 1000 }));
const content = new Map(listings.map((l) => [l.item_id, randomUnit(rng, DIM)]));
// 600 events over 6 event-time days; each user prefers one block of items, so there is something to learn.
const events: UserEvent[] = Array.from({ length: 600 }, (_, k) => {
  const u = rng.int(12);
  return { event_id: `e${k}`, user_id: `u${u}`, item_id: `i${(u % 4) * 10 + rng.int(10)}`, type: 'click', ts: 40_000 + Math.floor((k / 600) * 6 * DAY_MS), weight: null };
});

before(async () => {
  await useWasm();
  cfg = { ...loadConfig({}), palDim: 16, palLayers: 1, palHeads: 2, palOutDim: 8, historyLen: 8, negativeSamples: 8, batchUsers: 8, windowMaxEvents: 16, dropout: 0 };
});

function plan(extra: Partial<EvaluatorOptions> = {}): ReplayPlan {
  const catalogue = new ListedCatalogue(listings);
  const evaluator = new ReplayEvaluator({
    methods: ['learn', 'sasrec', 'popularity'],
    ks: REPLAY_KS,
    window: { by: 'events', size: 100 },
    coldThreshold: 5,
    halfLifeMs: 7 * DAY_MS,
    idCapacity: listings.length,
    seed: 1,
    stepsPerBatch: 1,
    rehearsal: { windows: 0, samples: 2 },
    catalogue,
    grid: true,
    operatingPoint: { beta: 0, contentWeight: 0 },
    ...extra,
  });
  return { cfg, listings, events, catalogue, evaluator };
}

async function run(updates: UpdateMode, warm: boolean): Promise<{ steps: number; scored: number; points: number }> {
  const p = plan();
  const r = await replayInProcess(cfg, p, { content, updates, ...(warm ? { warmStart: { fraction: 0.2, epochs: 2 } } : {}) });
  const scored = p.evaluator.metrics.get('learn')!.events;
  const points = p.evaluator.operatingPoints().learn?.length ?? 0;
  p.evaluator.dispose();
  return { steps: r.steps, scored, points };
}

test('streaming from empty scores every event; a warm start scores only the events after the split', async () => {
  const online = await run('online', false);
  assert.equal(online.scored, 600);
  assert.ok(online.steps > 10);
  assert.ok(online.points > 7, 'LEARN ranked under the grid of operating points');
  const warm = await run('online', true);
  assert.equal(warm.scored, 480);
  assert.ok(warm.steps > online.steps, 'two warm-start epochs over the prefix add steps');
});

test('static updates freeze the weights at go-live; daily updates retrain once per event-time day', async () => {
  const staticRun = await run('static', true);
  const onlineRun = await run('online', true);
  const dailyRun = await run('daily', true);
  assert.equal(staticRun.scored, 480);
  // Same prefix, same epochs: the static run's steps are the warm start's alone.
  assert.ok(staticRun.steps < dailyRun.steps, `static ${staticRun.steps} < daily ${dailyRun.steps}`);
  assert.ok(dailyRun.steps < onlineRun.steps, `daily ${dailyRun.steps} < online ${onlineRun.steps}: the last day is never retrained`);
});

test('the hybrid item input replays like content: every event scored, every window trained, the grid with its cold-gate points', async () => {
  const plain = await run('online', false);
  const saved = cfg;
  cfg = { ...cfg, itemInput: 'hybrid', hybridGateK: 3 };
  try {
    const hybrid = await run('online', false);
    assert.equal(hybrid.scored, 600);
    assert.equal(hybrid.steps, plain.steps, 'the same windows, the same steps');
    assert.equal(hybrid.points, plain.points);
  } finally {
    cfg = saved;
  }
});

// Issue 13: the SASRec-like model runs in its own worker thread by default, so the replay uses two cores.
test('the ID model in its own thread gives exactly the ranks and losses of the in-thread model, warm start and rehearsal included', async () => {
  const outcome = async (idThread: boolean) => {
    const p = plan({ keepRanks: true, rehearsal: { windows: 3, samples: 2 }, stepsPerBatch: 2 });
    await replayInProcess(cfg, p, { content, idThread, warmStart: { fraction: 0.2, epochs: 2 } });
    const e = p.evaluator;
    e.dispose();
    return { threaded: e.methodsThreaded, ranks: Object.fromEntries(e.ranks), losses: e.lossCurve, grid: e.operatingPoints(), trainSeconds: e.methodTrainSeconds };
  };
  const here = await outcome(false);
  const beside = await outcome(true);
  assert.equal(here.threaded, false);
  assert.equal(beside.threaded, true);
  assert.equal(here.ranks.sasrec?.length, 480);
  assert.deepEqual(beside.ranks, here.ranks);
  assert.ok(here.losses.length > 10 && here.losses.every((p) => p.sasrec !== undefined && p.sasrec > 0), "every loss point has the ID model's loss");
  assert.deepEqual(beside.losses, here.losses);
  assert.deepEqual(beside.grid, here.grid);
  assert.ok(beside.trainSeconds > 0, "the thread's training time is counted");
});

test('a failure in the ID model thread fails the replay with its reason', async () => {
  const p = plan({ idCapacity: 0 });
  await assert.rejects(replayInProcess(cfg, p, { content, idThread: true }), /capacity must be a positive integer, got 0/);
});
