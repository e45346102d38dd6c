import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Message } from 'kafkajs';
import { defaultCodec, type UserEvent } from '../codec/index.js';
import type { Config } from '../config/load.js';
import { EncoderWorker } from '../encoder/worker.js';
import { createKafka } from '../kafka/client.js';
import { ACKS_ALL, createProducer } from '../kafka/producer.js';
import type { TopicNames } from '../kafka/topics.js';
import { ConsumerLagMonitor } from '../ops/consumer-lag.js';
import { startTrainerRole, type TrainerRole } from '../trainer/role.js';
import { trainerGroup, type TrainerStats } from '../trainer/trainer.js';
import { benchListing } from './listings.js';
import { benchPipeline } from './pipeline.js';

/** What a paced-load bench (`load`, `soak`) drives and reads: the `learn run` roles in this process. */
export interface PacedPipeline {
  cfg: Config;
  topics: TopicNames;
  /** The trainer's counters (eventsTrained: the in-process view, no commit delay). */
  stats: TrainerStats;
  /** The trainer role itself (its model and vector publisher), for what a bench reports beside the counters. */
  role: TrainerRole;
  /** Event-loop delay of this process (enabled; reset it per sample). */
  loop: IntervalHistogram;
  /** Events acknowledged by the broker so far. */
  produced(): number;
  /**
   * Produces one second of UserEvents at `rate` (and a listing per 100 events, so the encoder works too) in ten
   * sends, each due at its slot from `secondStart` (performance.now()); a slow send eats into the next slot,
   * never adds one. Returns the events produced.
   */
  produceSecond(rate: number, secondStart: number): Promise<number>;
  /** The trainer group's lag on the broker (end offsets minus committed), summed over partitions; -1 if unknown. */
  lag(): Promise<number>;
}

const LISTING_EVERY = 100;
const FIRST_LISTINGS = 50;

/** What the generator produces besides the rate. */
export interface GeneratorOptions {
  /** Users the events cycle over (round robin). Default 5,000. */
  users?: number;
  /**
   * Item ids the listings cycle over: past the first N listings, each listing re-lists an existing id (a price or
   * text update) instead of adding one, so the catalogue stays at N. Undefined: every listing is a new item (the
   * catalogue grows by rate/100 items a second, up to LEARN_MAX_ITEMS).
   */
  catalogue?: number;
}

export const DEFAULT_GENERATOR_USERS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const rssMiB = (): number => Math.round(process.memoryUsage.rss() / 1_048_576);
/** An event-loop delay histogram's percentile in ms, to 0.01. */
export const delayMs = (h: IntervalHistogram, p: number): number => Math.round(h.percentile(p) / 1e4) / 100;

/**
 * Runs `body` against the encoder and the trainer (with its vector publisher) in this process, on fresh topics,
 * a fresh Redis prefix, state folder and consumer groups, with a producer of synthetic events; everything is
 * stopped and deleted afterwards. Commits follow checkpoints: a 1 s cadence makes the broker's lag a
 * second-by-second measure.
 */
export async function withPacedPipeline<T>(base: Config, label: string, body: (p: PacedPipeline) => Promise<T>, gen: GeneratorOptions = {}): Promise<T> {
  const users = gen.users ?? DEFAULT_GENERATOR_USERS;
  const catalogue = gen.catalogue ?? Number.MAX_SAFE_INTEGER;
  if (!(Number.isSafeInteger(users) && users > 0)) throw new Error(`generator users must be a positive integer, got ${users}`);
  if (!(Number.isSafeInteger(catalogue) && catalogue > 0)) throw new Error(`generator catalogue must be a positive integer, got ${catalogue}`);
  const { run, cfg, topics, admin, cleanup } = await benchPipeline(base, label, { checkpointEveryMs: 1000 });
  const codec = defaultCodec();
  const producer = await createProducer(createKafka(cfg, 'bench'));
  const encoder = await EncoderWorker.start(cfg);
  let trainer: Awaited<ReturnType<typeof startTrainerRole>> | undefined;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const lag = new ConsumerLagMonitor(admin, { groupId: trainerGroup(cfg), topics: [topics.userEvents] }, { intervalMs: 60_000, maxLag: Number.MAX_SAFE_INTEGER });
  try {
    // Listings made so far; listing k lists id k mod catalogue (a re-listing once k passes the catalogue).
    let items = FIRST_LISTINGS;
    const listed = () => Math.min(items, catalogue);
    const listing = (k: number): Message => {
      const i = k % catalogue;
      return { key: `${label}-${i}`, value: codec.encode('ItemListing', benchListing(label, i)) };
    };
    await producer.send({ topic: topics.itemListings, acks: ACKS_ALL, messages: Array.from({ length: items }, (_, k) => listing(k)) });
    trainer = await startTrainerRole(cfg, {}, { exitOnFailure: false });
    loop.enable();
    let eventNo = 0;
    let producedTotal = 0;
    const pipeline: PacedPipeline = {
      cfg,
      topics,
      stats: trainer.trainer.stats,
      role: trainer,
      loop,
      produced: () => producedTotal,
      produceSecond: async (rate, secondStart) => {
        let inSecond = 0;
        for (let k = 0; k < 10; k++) {
          const wait = secondStart + k * 100 - performance.now();
          if (wait > 0) await sleep(wait);
          const n = Math.floor((rate * (k + 1)) / 10) - Math.floor((rate * k) / 10);
          const messages: Message[] = [];
          for (let j = 0; j < n; j++) {
            const e: UserEvent = { event_id: `${run}-${eventNo}`, user_id: `u${eventNo % users}`, item_id: `${label}-${(eventNo * 7919) % listed()}`, type: 'click', ts: Date.now(), weight: null };
            messages.push({ key: e.user_id, value: codec.encode('UserEvent', e) });
            eventNo++;
          }
          const newListings: Message[] = [];
          while (eventNo / LISTING_EVERY > items - FIRST_LISTINGS) newListings.push(listing(items++));
          if (newListings.length > 0) await producer.send({ topic: topics.itemListings, acks: ACKS_ALL, messages: newListings });
          if (messages.length > 0) await producer.send({ topic: topics.userEvents, acks: ACKS_ALL, messages });
          inSecond += messages.length;
        }
        producedTotal += inSecond;
        return inSecond;
      },
      lag: async () => {
        await lag.pollOnce();
        return lag.snapshot()?.partitions.reduce((sum, p) => sum + p.lag, 0) ?? -1;
      },
    };
    return await body(pipeline);
  } finally {
    loop.disable();
    await trainer?.stop();
    await encoder.stop();
    await producer.disconnect();
    await cleanup();
  }
}
