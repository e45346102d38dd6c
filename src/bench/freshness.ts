import { defaultCodec, type ItemListing, type UserEvent } from '../codec/index.js';
import type { Config } from '../config/load.js';
import { EncoderWorker } from '../encoder/worker.js';
import { createKafka } from '../kafka/client.js';
import { ACKS_ALL, createProducer } from '../kafka/producer.js';
import { log } from '../ops/logger.js';
import { StoreKeys, VersionView, connectWithin, createRedisClient } from '../store/index.js';
import { redisUrl } from '../config/load.js';
import { startTrainerRole } from '../trainer/role.js';
import { summarise, type LatencySummary } from './percentiles.js';
import { benchListing } from './listings.js';
import { benchPipeline } from './pipeline.js';

export interface FreshnessBench {
  /** Listing produced (acknowledged) -> its item vector readable in Redis under the current version. */
  listingToItemVector: LatencySummary;
  /** Event produced -> that user's vector in Redis changed. Bounded below by the window (LEARN_WINDOW_MS). */
  eventToUserVector: LatencySummary;
  windowMs: number;
  batchUsers: number;
  pollMs: number;
}

const POLL_MS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `learn bench freshness`: the encoder, the trainer and its vector publisher in this process on fresh topics and
 * a fresh Redis prefix; listings and events produced one at a time; Redis polled until the vectors show up.
 */
export async function benchFreshness(base: Config, opts: { listings?: number; events?: number } = {}): Promise<FreshnessBench> {
  const l = log('bench.freshness');
  const { run, cfg, topics, cleanup } = await benchPipeline(base, 'freshness', { checkpointEveryMs: 3_600_000 });
  const codec = defaultCodec();
  const producer = await createProducer(createKafka(cfg, 'bench'));
  const redis = createRedisClient(redisUrl(cfg), 'bench');
  await connectWithin(redis, 5_000);
  const keys = new StoreKeys(cfg.redisPrefix);
  const encoder = await EncoderWorker.start(cfg);
  const send = (topic: string, key: string, value: Buffer) => producer.send({ topic, acks: ACKS_ALL, messages: [{ key, value }] });
  const listing = (i: number): ItemListing => benchListing('fresh', i);
  let trainer: Awaited<ReturnType<typeof startTrainerRole>> | undefined;
  try {
    // A seed catalogue sizes the model; the trainer starts once the first content exists.
    for (let i = 0; i < 20; i++) await send(topics.itemListings, `fresh-${i}`, codec.encode('ItemListing', listing(i)));
    trainer = await startTrainerRole(cfg);
    const view = async () => VersionView.current(redis, keys);

    const listingMs: number[] = [];
    for (let i = 1000; i < 1000 + (opts.listings ?? 40); i++) {
      const t0 = performance.now();
      await send(topics.itemListings, `fresh-${i}`, codec.encode('ItemListing', listing(i)));
      while (!(await (await view())?.itemVector(`fresh-${i}`))) await sleep(POLL_MS);
      listingMs.push(performance.now() - t0);
    }
    l.info(summarise(listingMs), 'listing -> item vector');

    const users = 8;
    const eventMs: number[] = [];
    const event = (n: number, user: string, item: string): UserEvent => ({ event_id: `${run}-${n}`, user_id: user, item_id: item, type: 'click', ts: Date.now(), weight: null });
    // Give each user a history first, so that each later event moves an existing vector.
    for (let u = 0; u < users; u++) await send(topics.userEvents, `u${u}`, codec.encode('UserEvent', event(u, `u${u}`, `fresh-${u}`)));
    for (let u = 0; u < users; u++) while (!(await (await view())?.userVector(`u${u}`))) await sleep(POLL_MS);
    for (let n = 0; n < (opts.events ?? 24); n++) {
      const user = `u${n % users}`;
      const bytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      const before = bytes((await (await view())!.userVector(user))!);
      const t0 = performance.now();
      await send(topics.userEvents, user, codec.encode('UserEvent', event(100 + n, user, `fresh-${(n * 7) % 20}`)));
      for (;;) {
        const now = await (await view())?.userVector(user);
        if (now && !bytes(now).equals(before)) break;
        await sleep(POLL_MS);
      }
      eventMs.push(performance.now() - t0);
    }
    l.info(summarise(eventMs), 'event -> user vector');
    return { listingToItemVector: summarise(listingMs), eventToUserVector: summarise(eventMs), windowMs: cfg.windowMs, batchUsers: cfg.batchUsers, pollMs: POLL_MS };
  } finally {
    await trainer?.stop();
    await encoder.stop();
    await producer.disconnect();
    redis.disconnect();
    await cleanup();
  }
}
