import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultCodec, type ItemContent, type UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { CheckpointStore } from '../../src/trainer/checkpoint.js';
import { digestOf } from '../../src/trainer/digest.js';
import type { TrainerCheckpointState } from '../../src/trainer/trainer.js';
import { Rng } from '../../src/model/index.js';
import { eventually } from '../support/kafka.js';
import { startLearn } from '../support/process.js';
import { ensureStack, freshPipelineTopics, freshTopic } from '../support/stack.js';
import { SMALL_TRAINER_ENV, unitVector } from '../support/pipeline.js';

let cfg: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-trainer-crash-'));
before(async () => {
  cfg = await ensureStack();
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

function latest(): TrainerCheckpointState | undefined {
  return new CheckpointStore<TrainerCheckpointState>(join(stateDir, 'checkpoints'), 3).loadLatest()?.state;
}

test('trainer killed with SIGKILL mid-stream twice: every event trained exactly once', { timeout: 420_000 }, async (t) => {
  const codec = defaultCodec();
  const env = {
    ...(await freshPipelineTopics(cfg, 'trainer-crash', { events: 3, content: 2, dlq: 1 })),
    LEARN_STATE_DIR: stateDir,
    LEARN_REDIS_PREFIX: `crash${process.pid}`,
    ...SMALL_TRAINER_ENV,
  };
  const rng = new Rng(7);
  const items = 120;
  const dim = 96;
  const contents: ItemContent[] = Array.from({ length: items }, (_, i) => ({
    item_id: `it-${i}`,
    model_id: 'test-model',
    text_hash: String(i).padStart(64, '0'),
    dim,
    vector: unitVector(rng, dim),
    encoded_at: 1,
  }));
  const n = 2400;
  const events: UserEvent[] = Array.from({ length: n }, (_, i) => ({
    event_id: `ev-${i}`,
    user_id: `user-${rng.int(150)}`,
    item_id: `it-${rng.int(items)}`,
    type: i % 5 === 0 ? 'purchase' : 'click',
    ts: 1_700_000_000_000 + i * 1000,
    weight: null,
  }));
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  await producer.send({
    topic: env.LEARN_TOPIC_ITEM_CONTENT,
    acks: ACKS_ALL,
    messages: contents.map((c) => ({ key: c.item_id, value: codec.encode('ItemContent', c) })),
  });
  for (let i = 0; i < n; i += 400) {
    await producer.send({
      topic: env.LEARN_TOPIC_USER_EVENTS,
      acks: ACKS_ALL,
      messages: events.slice(i, i + 400).map((e) => ({ key: e.user_id, value: codec.encode('UserEvent', e) })),
    });
  }
  await producer.disconnect();

  const kills: number[] = [];
  for (const more of [300, 600]) {
    const killAfter = (latest()?.eventsTrained ?? 0) + more;
    const p = startLearn(['train'], env);
    await eventually(`a checkpoint past ${killAfter} events`, () => (latest()?.eventsTrained ?? 0) >= killAfter, 180_000).catch((err: unknown) => {
      p.child.kill('SIGKILL');
      throw new Error(`${String(err)}; trainer log tail:\n${p.logs().slice(-4000)}`);
    });
    p.child.kill('SIGKILL');
    await p.exited;
    const at = latest()?.eventsTrained ?? 0;
    assert.ok(at < n, `killed mid-stream (${at} of ${n} checkpointed)`);
    kills.push(at);
  }
  const last = startLearn(['train'], env);
  await eventually('every event checkpointed', () => (latest()?.eventsTrained ?? 0) >= n, 240_000);
  last.child.kill('SIGTERM');
  assert.equal(await last.exited, 0, last.logs().slice(-3000));

  const final = latest();
  t.diagnostic(`SIGKILL at ${kills.join(' and ')} checkpointed events; final ${final?.eventsTrained} of ${n}, step ${final?.step}`);
  assert.equal(final?.eventsTrained, n, 'none lost, none twice (count)');
  assert.equal(final?.digest, digestOf(events.map((e) => e.event_id)).toString(16), 'none lost, none twice (digest of ids)');
  assert.equal(final?.waiting.length, 0);
  assert.ok((final?.step ?? 0) > 20, 'the model took optimizer steps');
});
