import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Config } from '../../src/config/load.js';
import type { DatasetRecord } from '../../src/data/index.js';
import { Rng } from '../../src/model/index.js';
import { UserHistories } from '../../src/learner/histories.js';
import { CheckpointStore } from '../../src/trainer/checkpoint.js';
import { pretrain } from '../../src/trainer/pretrain.js';
import type { TrainerCheckpointState } from '../../src/trainer/trainer.js';
import { ensureDefaultModel } from '../encoder/model-helper.js';
import { pipelineConfig } from '../support/stack.js';

let cfg: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-pretrain-'));
before(async () => {
  await ensureDefaultModel();
  cfg = await pipelineConfig('pretrain', { stateDir, env: { LEARN_BATCH_USERS: '8', LEARN_PAL_DIM: '32', LEARN_PAL_LAYERS: '1' } });
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

test('pretrain encodes the log\'s listings, trains every event with content, and checkpoints the result', { timeout: 240_000 }, async () => {
  const rng = new Rng(3);
  const genres = ['Comedy', 'Drama', 'Horror', 'Animation', 'Documentary'];
  const records: DatasetRecord[] = [];
  for (let i = 0; i < 30; i++) {
    records.push({ kind: 'listing', value: { item_id: `m${i}`, title: `Film ${i}`, category: genres[i % 5]!, brand: null, price: null, keywords: null, attributes: [`released ${1990 + (i % 9)}`], listed_at: i } });
  }
  // One listing with no usable text: it gets no content, so its events are counted as skipped.
  records.push({ kind: 'listing', value: { item_id: 'blank', title: ' ', category: null, brand: null, price: null, keywords: null, attributes: null, listed_at: 40 } });
  const n = 400;
  for (let i = 0; i < n; i++) {
    const item = i % 50 === 0 ? 'blank' : `m${rng.int(30)}`;
    records.push({ kind: 'event', value: { event_id: `e${i}`, user_id: `u${rng.int(25)}`, item_id: item, type: 'rating', ts: 1000 + i, weight: 1 + rng.int(5) } });
  }
  const s = await pretrain(cfg, records);
  assert.equal(s.itemsEncoded, 30);
  assert.equal(s.skippedNoContent, n / 50);
  assert.equal(s.trained, n - n / 50);
  assert.ok(s.steps > 10, `optimizer steps: ${s.steps}`);
  const ckpt = new CheckpointStore<TrainerCheckpointState>(join(stateDir, 'checkpoints'), 3).loadLatest();
  assert.equal(ckpt?.state.eventsTrained, n - n / 50);
  assert.equal(ckpt?.state.step, s.steps);
  assert.deepEqual(ckpt?.state.offsets, {}, 'a pretrain claims no Kafka offsets');
  assert.equal(ckpt ? UserHistories.entriesOf(ckpt.state.histories).length : 0, 25);
});
