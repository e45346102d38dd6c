import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { defaultCodec, type UserEvent } from '../../src/codec/index.js';
import { redisUrl, type Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { StoreKeys, VersionView } from '../../src/store/index.js';
import { registry } from '../../src/ops/metrics.js';
import { Trainer } from '../../src/trainer/trainer.js';
import { VectorPublisher } from '../../src/trainer/vector-publisher.js';
import { eventually } from '../support/kafka.js';
import { randomContents } from '../support/pipeline.js';
import { pipelineConfig } from '../support/stack.js';

// Issue 23 item 7: user vectors are written with the newest weights, while a version's item vectors were those of
// its build, up to LEARN_VERSION_EVERY_STEPS steps older. With LEARN_ITEM_REFRESH_STEPS every item vector in the
// current version is from weights at most that many steps older than the trainer's.

const BOUND = 3;
let cfg: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-item-age-'));
before(async () => {
  cfg = await pipelineConfig('item-vector-age', {
    stateDir,
    env: {
      LEARN_PAL_DIM: '32',
      LEARN_PAL_LAYERS: '1',
      LEARN_PAL_OUT_DIM: '16',
      LEARN_BATCH_USERS: '4',
      LEARN_STEPS_PER_BATCH: '1',
      // One version for the whole test: only the refresh can keep its items fresh.
      LEARN_VERSION_EVERY_STEPS: '100000',
      LEARN_VERSION_EVERY_MS: '3600000',
      LEARN_ITEM_REFRESH_STEPS: String(BOUND),
    },
  });
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

/** Forward passes over batches of other sizes differ in the last bits: a vector matches a step's within this. */
const TOLERANCE = 1e-5;
const close = (a: Float32Array, b: Float32Array): boolean => a.every((x, j) => Math.abs(x - (b[j] as number)) <= TOLERANCE);

test(`item vectors in the current version are at most LEARN_ITEM_REFRESH_STEPS (${BOUND}) steps older than the weights writing user vectors`, { timeout: 180_000 }, async () => {
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  const contents = randomContents('age', 12, 24, new Rng(23));
  const items = contents.map((c) => c.item_id);
  await producer.send({ topic: cfg.topicItemContent, acks: ACKS_ALL, messages: contents.map((c) => ({ key: c.item_id, value: defaultCodec().encode('ItemContent', c) })) });
  const publisher = await VectorPublisher.open(cfg);
  const trainer = new Trainer(cfg, { publisher });
  await trainer.prepare();
  const redis = new Redis(redisUrl(cfg));
  const keys = new StoreKeys(cfg.redisPrefix);
  // Every item vector the weights of each step give (the step's weights, taken as the step ends).
  const byStep = new Map<number, Map<string, Float32Array>>();
  const snapshot = (): void => {
    byStep.set(trainer.model.step, trainer.model.itemVectors(items));
  };
  /** The newest step whose weights give this vector for the item. */
  const stepOf = (id: string, v: Float32Array): number | undefined => {
    let found: number | undefined;
    for (const [step, vectors] of byStep) if (close(vectors.get(id) as Float32Array, v) && (found === undefined || step > found)) found = step;
    return found;
  };
  trainer.on('windowTrained', snapshot);
  const worst: Array<{ step: number; oldest: number }> = [];
  try {
    await eventually('the items\' content in the trainer', () => trainer.model.content.size === items.length);
    snapshot();
    const events: UserEvent[] = Array.from({ length: 360 }, (_, i) => ({
      event_id: `a${i}`,
      user_id: `u${(i * 5) % 16}`,
      item_id: items[(i * 7) % items.length] as string,
      type: 'click',
      ts: 1_700_000_000_000 + i * 1000,
      weight: null,
    }));
    for (let i = 0; i < events.length; i += 30) {
      // Its checkpoint waits for the publisher's writes of these windows.
      await trainer.pretrain(events.slice(i, i + 30));
      const view = await VersionView.current(redis, keys);
      assert.ok(view, 'a current version');
      let oldest = Infinity;
      for (const id of items) {
        const v = await view.itemVector(id);
        assert.ok(v, `item ${id} in version ${view.version}`);
        const step = stepOf(id, v);
        assert.ok(step !== undefined, `item ${id}'s vector is from weights of some step`);
        oldest = Math.min(oldest, step);
      }
      worst.push({ step: trainer.model.step, oldest });
    }
    assert.ok(trainer.model.step > 4 * BOUND, `trained ${trainer.model.step} steps`);
    const late = worst.filter((w) => w.step - w.oldest > BOUND);
    assert.deepEqual(late, [], `item vectors older than ${BOUND} steps: ${JSON.stringify(late)}`);
    // The refresh's work is counted: items re-published, and the time of each refresh step.
    const refreshed = await metricValue('learn_item_vectors_refreshed_total', '');
    const rounds = Math.floor(trainer.model.step / BOUND);
    assert.ok(refreshed >= (rounds - 1) * items.length, `${refreshed} item vectors refreshed in ${trainer.model.step} steps of ${items.length} items`);
    const timed = await metricValue('learn_item_refresh_seconds', '_count');
    assert.ok(timed > 0 && timed <= trainer.model.step, `${timed} refresh steps timed`);
  } finally {
    redis.disconnect();
    await trainer.stop();
    await producer.disconnect();
    await publisher.stop();
  }
});

async function metricValue(name: string, suffix: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name} registered`);
  const sample = (await metric.get()).values.find((v) => (v as { metricName?: string }).metricName === undefined || (v as { metricName?: string }).metricName === name + suffix);
  return sample?.value ?? 0;
}
