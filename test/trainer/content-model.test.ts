import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Config } from '../../src/config/load.js';
import { DLQ_HEADERS } from '../../src/kafka/dead-letter.js';
import { Rng } from '../../src/model/index.js';
import { Trainer, type TrainerPublisher } from '../../src/trainer/trainer.js';
import { header, readTopic } from '../support/kafka.js';
import { publishContents, randomContents } from '../support/pipeline.js';
import { pipelineConfig } from '../support/stack.js';

// Issue 23 item 8: the trainer ignored model_id on content records, so content from another 384-d model (LEARN_MODEL
// switched on the encoder) was mixed into the pipeline's embedding space without a word.

let cfg: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-content-model-'));
before(async () => {
  cfg = await pipelineConfig('content-model', { stateDir, env: { LEARN_PAL_DIM: '32', LEARN_PAL_LAYERS: '1', LEARN_MODEL: 'all-minilm-l6-v2-q' } });
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

test('content encoded by another model than LEARN_MODEL is dead-lettered as other-model, never learned from', { timeout: 120_000 }, async () => {
  const ours = randomContents('cm', 4, 24, new Rng(3));
  const foreign = randomContents('cm-bge', 2, 24, new Rng(4)).map((c) => ({ ...c, model_id: 'bge-small-en-v15-q@0123456789ab' }));
  await publishContents(cfg, [...ours, ...foreign]);
  const trainer = new Trainer(cfg);
  try {
    await trainer.prepare();
    assert.deepEqual([...trainer.model.content.ids()].sort(), ours.map((c) => c.item_id).sort());
    const letters = await readTopic(cfg, cfg.topicDlq, 2);
    assert.deepEqual(letters.map((m) => String(m.key)).sort(), ['cm-bge-0', 'cm-bge-1']);
    for (const m of letters) {
      assert.equal(header(m.headers, DLQ_HEADERS.reason), 'other-model');
      assert.match(header(m.headers, DLQ_HEADERS.error) ?? '', /bge-small-en-v15-q@0123456789ab.*all-minilm-l6-v2-q/);
    }
  } finally {
    await trainer.stop();
  }
});

test('the publisher given to the constructor is started by prepare, on the prepared model; nothing runs before prepare', { timeout: 120_000 }, async () => {
  await publishContents(cfg, randomContents('cm-pub', 2, 24, new Rng(5)));
  const started: number[] = [];
  const publisher: TrainerPublisher = {
    start: async (t) => void started.push(t.model.config.contentDim),
    shouldPause: () => false,
    beforeCheckpoint: async () => true,
  };
  const trainer = new Trainer(cfg, { publisher });
  await assert.rejects(trainer.consume(), /must be prepared before it can consume/);
  await assert.rejects(trainer.pretrain([]), /must be prepared before it can pretrain/);
  assert.deepEqual(started, []);
  try {
    await trainer.prepare();
    assert.deepEqual(started, [24], 'started once, with the model ready');
    await assert.rejects(trainer.prepare(), /prepared already/);
  } finally {
    await trainer.stop();
  }
});
