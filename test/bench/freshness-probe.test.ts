import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FreshnessProbe, ProbeTimeout } from '../../src/bench/freshness-probe.js';
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

test("an event is sent as a new user's first and timed until that user's vector exists", async () => {
  const timing = probe.event(probe.itemId(1));
  // Another user's vector (the traffic beside the probe) does not end the wait.
  await later(200, () => store.writeUserVectors(version, [{ id: 'someone-else', eventTime: Date.now(), order: 1, vector: filled(2, 1) }]));
  await later(300, () => store.writeUserVectors(version, [{ id: 'probe-u0', eventTime: Date.now(), order: 2, vector: filled(2, 2) }]));
  const ms = await timing;
  assert.ok(ms >= 490 && ms < 5_000, `${ms} ms`);
  const offsets = await pipeline.admin.fetchTopicOffsets(pipeline.topics.userEvents);
  assert.equal(offsets.reduce((n, p) => n + Number(p.high), 0), 1);
  // The next probe is another new user.
  const next = probe.event(probe.itemId(1));
  await later(100, () => store.writeUserVectors(version, [{ id: 'probe-u1', eventTime: Date.now(), order: 3, vector: filled(2, 3) }]));
  assert.ok((await next) >= 90);
});

test('a vector that never comes fails the probe, naming it, after its timeout', async () => {
  const impatient = await FreshnessProbe.open(pipeline.cfg, pipeline.topics, { prefix: 'lost', timeoutMs: 300 });
  try {
    await assert.rejects(impatient.listing(7), (err: unknown) => err instanceof ProbeTimeout && /item vector of lost-7 not in redis within 0.3 s/.test(err.message));
  } finally {
    await impatient.close();
  }
});
