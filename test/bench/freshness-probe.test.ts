import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FreshnessProbe } from '../../src/bench/freshness-probe.js';
import { benchPipeline, type BenchPipeline } from '../../src/bench/pipeline.js';
import { redisUrl } from '../../src/config/load.js';
import { VectorStore } from '../../src/store/vector-store.js';
import { ensureStack } from '../support/stack.js';
import { dropPrefix, filled } from '../store/helpers.js';

// The probe against a real broker and Redis, with this test in the pipeline's place: it writes the vectors the
// probe waits for, so the measured time is known to within the polling.
let pipeline: BenchPipeline;
let store: VectorStore;
let probe: FreshnessProbe;
let version: number;

before(async () => {
  pipeline = await benchPipeline(await ensureStack(), 'probe-test');
  store = await VectorStore.open({ redisUrl: redisUrl(pipeline.cfg), prefix: pipeline.cfg.redisPrefix, seenKept: 5, seenTtlSeconds: 3600 });
  version = await store.beginVersion({ dim: 2 });
  await store.publishVersion(version);
  probe = await FreshnessProbe.open(pipeline.cfg, pipeline.topics, { prefix: 'probe', timeoutMs: 20_000 });
});
after(async () => {
  await probe.close();
  await store.close();
  await dropPrefix(redisUrl(pipeline.cfg), pipeline.cfg.redisPrefix);
  await pipeline.cleanup();
});

const later = (ms: number, f: () => Promise<unknown>) => new Promise<void>((resolve, reject) => setTimeout(() => f().then(() => resolve(), reject), ms));

test('a listing is produced to the listings topic and timed until its item vector is readable', async () => {
  const timing = probe.listing(1);
  await later(300, () => store.writeItemVectors(version, [{ id: probe.itemId(1), eventTime: Date.now(), vector: filled(2, 1) }]));
  const ms = await timing;
  assert.ok(ms >= 290 && ms < 5_000, `${ms} ms`);
  const offsets = await pipeline.admin.fetchTopicOffsets(pipeline.topics.itemListings);
  assert.equal(offsets.reduce((n, p) => n + Number(p.high), 0), 1);
});

test("an event is timed until its user's vector changes, not until any write of it", async () => {
  await store.writeUserVectors(version, [{ id: 'probe-user', eventTime: Date.now(), order: 1, vector: filled(2, 1) }]);
  const timing = probe.event('probe-user', probe.itemId(1));
  // The same bytes again (a rewrite after a step, say): not the event's vector yet.
  await later(200, () => store.writeUserVectors(version, [{ id: 'probe-user', eventTime: Date.now(), order: 2, vector: filled(2, 1) }]));
  await later(300, () => store.writeUserVectors(version, [{ id: 'probe-user', eventTime: Date.now(), order: 3, vector: filled(2, 2) }]));
  const ms = await timing;
  assert.ok(ms >= 490 && ms < 5_000, `${ms} ms`);
  const offsets = await pipeline.admin.fetchTopicOffsets(pipeline.topics.userEvents);
  assert.equal(offsets.reduce((n, p) => n + Number(p.high), 0), 1);
});

test('a vector that never comes fails the probe, naming it, after its timeout', async () => {
  const impatient = await FreshnessProbe.open(pipeline.cfg, pipeline.topics, { prefix: 'lost', timeoutMs: 300 });
  try {
    await assert.rejects(impatient.listing(7), /item vector of lost-7 not in redis within 0.3 s/);
  } finally {
    await impatient.close();
  }
});
