import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Config } from '../../src/config/load.js';
import { METHODS, runReplay, type ReplayReport } from '../../src/replay/index.js';
import { ensureDefaultModel } from '../encoder/model-helper.js';
import { ensureStack } from '../support/stack.js';

let cfg: Config;

before(async () => {
  const stack = await ensureStack();
  await ensureDefaultModel();
  // Small model sizes, small windows: many windows on a short slice.
  cfg = { ...stack, palDim: 32, palLayers: 1, palHeads: 2, palOutDim: 32, historyLen: 30, batchUsers: 16, windowMaxEvents: 32 };
});

test('the in-process replay gives exactly the Kafka path\'s per-event ranks on the same slice and seed', { timeout: 300_000 }, async (t) => {
  const slice = { dataset: 'ml-100k', speed: 0, limit: 800, methods: [...METHODS], keepRanks: true, operatingPoint: { beta: 0.2, contentWeight: 0.3 } } as const;
  let content: Map<string, Float32Array> | undefined;
  const kafka: ReplayReport = await runReplay(cfg, {
    ...slice,
    stallTimeoutMs: 120_000,
    // The encoder's int8 model quantises per batch, so the in-process run takes the very vectors the pipeline made:
    // what is compared is everything after the encoder (windows, candidates, negatives, training, scoring).
    onFinished: (model) => {
      content = new Map([...model.content.ids()].map((id) => [id, model.content.get(id) as Float32Array]));
    },
  });
  assert.ok(content && content.size > 0);
  const local: ReplayReport = await runReplay(cfg, { ...slice, inProcess: true, content });
  t.diagnostic(`kafka: ${kafka.windows} windows, ${kafka.trainerSteps} steps, ${kafka.wallSeconds} s; in-process: ${local.windows} windows, ${local.wallSeconds} s`);
  assert.equal(kafka.path, 'kafka');
  assert.equal(local.path, 'in-process');
  assert.equal(kafka.eventsTrained, 800);
  assert.equal(local.eventsTrained, kafka.eventsTrained);
  assert.equal(local.windows, kafka.windows);
  assert.ok(kafka.windows > 20, `windows: ${kafka.windows}`);
  assert.equal(local.trainerSteps, kafka.trainerSteps);
  for (const m of METHODS) {
    const a = kafka.ranks?.[m];
    const b = local.ranks?.[m];
    assert.ok(a && b && a.length === 800, `${m}: a rank per event`);
    assert.deepEqual(b, a, `${m}: the same rank for every event`);
  }
  // Not a vacuous equality: the learned method ranks differently from popularity.
  assert.notDeepEqual(kafka.ranks?.learn, kafka.ranks?.popularity);
});
