// Publishes a data set to Kafka in time order: listings keyed by item_id, events keyed by user_id, Avro
// single-object encoded, in batches through the product's idempotent producer with acks=all.
import type { Kafka, Message, TopicMessages } from 'kafkajs';
import { encode } from '../codec/index.js';
import { ACKS_ALL, createProducer } from '../kafka/producer.js';
import { TOPICS } from '../kafka/topics.js';
import { recordTime, type DatasetRecord } from './stream.js';

export interface ProduceTopics {
  listings: string;
  events: string;
}

export const DEFAULT_PRODUCE_TOPICS: ProduceTopics = { listings: TOPICS.itemListings, events: TOPICS.userEvents };

export interface ProduceOptions {
  topics?: ProduceTopics;
  /** Multiple of real time for the gaps between records; 0 sends as fast as possible. */
  speed?: number;
  /** Longest pause between two records whatever the gap in the data (a quiet night in a log is not waited out). */
  maxSleepMs?: number;
  /** Messages per send request. */
  batchSize?: number;
  /** Called after every acknowledged batch with the messages sent so far. */
  onProgress?: (sent: number) => void;
  /** Stops after the batch in flight; the summary counts what was acknowledged. */
  signal?: AbortSignal;
}

export interface ProduceSummary {
  listings: number;
  events: number;
  seconds: number;
  msgsPerSec: number;
  listingsTopic: string;
  eventsTopic: string;
  speed: number;
  /** True when stopped by the signal before the end of the data set. */
  aborted: boolean;
}

/** Sends one batch and resolves when every message of it is acknowledged. */
export type BatchSender = (batch: TopicMessages[]) => Promise<void>;

/** Wall clock and sleep, injectable so pacing can be tested without waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export const DEFAULT_BATCH_SIZE = 500;
export const DEFAULT_MAX_SLEEP_MS = 1_000;
/** Shorter waits are accumulated rather than slept: timers are not that precise and each sleep flushes a batch. */
const MIN_SLEEP_MS = 5;

/** The Kafka message of a record: key and Avro value. */
export function toMessage(r: DatasetRecord): Message {
  // No message timestamp: the broker stamps it. Event times from years ago would fall out of retention at once.
  return r.kind === 'listing'
    ? { key: r.value.item_id, value: encode('ItemListing', r.value) }
    : { key: r.value.user_id, value: encode('UserEvent', r.value) };
}

/**
 * Sends records in their order. Batches never reorder: each holds consecutive records and is acknowledged
 * before the next is sent, so every key's records reach its partition in stream order.
 */
export async function produceRecords(
  records: Iterable<DatasetRecord>,
  send: BatchSender,
  opts: ProduceOptions = {},
  clock: Clock = realClock,
): Promise<ProduceSummary> {
  const topics = opts.topics ?? DEFAULT_PRODUCE_TOPICS;
  const speed = opts.speed ?? 0;
  const maxSleep = opts.maxSleepMs ?? DEFAULT_MAX_SLEEP_MS;
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!(speed >= 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a finite number >= 0, got ${speed}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!(maxSleep >= 0)) throw new RangeError(`maxSleepMs must be >= 0, got ${maxSleep}`);

  let listings = 0;
  let events = 0;
  let pendingListings: Message[] = [];
  let pendingEvents: Message[] = [];
  let pendingCounts = { listings: 0, events: 0 };
  const flush = async (): Promise<void> => {
    if (pendingListings.length + pendingEvents.length === 0) return;
    const batch: TopicMessages[] = [];
    if (pendingListings.length > 0) batch.push({ topic: topics.listings, messages: pendingListings });
    if (pendingEvents.length > 0) batch.push({ topic: topics.events, messages: pendingEvents });
    await send(batch);
    listings += pendingCounts.listings;
    events += pendingCounts.events;
    pendingListings = [];
    pendingEvents = [];
    pendingCounts = { listings: 0, events: 0 };
    opts.onProgress?.(listings + events);
  };

  const start = clock.now();
  // Pacing against a schedule, not per-message sleeps: time spent sending counts towards the next gap.
  let due = start;
  let prevTime: number | undefined;
  let aborted = false;
  for (const r of records) {
    if (opts.signal?.aborted) {
      aborted = true;
      break;
    }
    const t = recordTime(r);
    if (speed > 0 && prevTime !== undefined) {
      due += Math.min(Math.max(0, t - prevTime) / speed, maxSleep);
      const wait = due - clock.now();
      if (wait >= MIN_SLEEP_MS) {
        await flush();
        const left = due - clock.now();
        if (left > 0) await clock.sleep(left);
      }
    }
    prevTime = t;
    if (r.kind === 'listing') {
      pendingListings.push(toMessage(r));
      pendingCounts.listings++;
    } else {
      pendingEvents.push(toMessage(r));
      pendingCounts.events++;
    }
    if (pendingCounts.listings + pendingCounts.events >= batchSize) await flush();
  }
  await flush();
  const seconds = (clock.now() - start) / 1000;
  return {
    listings,
    events,
    seconds: round(seconds, 3),
    msgsPerSec: seconds > 0 ? round((listings + events) / seconds, 1) : 0,
    listingsTopic: topics.listings,
    eventsTopic: topics.events,
    speed,
    aborted,
  };
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** Produces a data set with the product's producer (idempotent, acks=all); disconnects when done. */
export async function produceDataset(kafka: Kafka, records: Iterable<DatasetRecord>, opts: ProduceOptions = {}): Promise<ProduceSummary> {
  const producer = await createProducer(kafka);
  try {
    return await produceRecords(records, async (topicMessages) => void (await producer.sendBatch({ topicMessages, acks: ACKS_ALL })), opts);
  } finally {
    await producer.disconnect();
  }
}
