import { randomBytes } from 'node:crypto';
import type { Config } from '../config/load.js';
import { defaultCodec, type ItemListing } from '../codec/index.js';
import { createKafka } from '../kafka/client.js';
import { ACKS_ALL, createProducer } from '../kafka/producer.js';
import { applyPrefixedTopics, withTopics } from '../kafka/topics.js';
import { EncoderWorker } from '../encoder/worker.js';

export interface EncoderLatencyBench {
  listings: number;
  ratePerSec: number;
  /** Listing produced (acknowledged) -> its ItemContent consumed by an independent consumer, in ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  topics: { listings: string; content: string };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * End-to-end encoder latency through the real broker: an encoder worker on fresh topics, listings produced
 * one at a time at a steady rate, ItemContent read back by a separate consumer.
 */
export async function benchEncoderLatency(base: Config, listings = 200, ratePerSec = 20): Promise<EncoderLatencyBench> {
  const run = randomBytes(4).toString('hex');
  const admin = createKafka(base, 'bench').admin();
  await admin.connect();
  const topics = await applyPrefixedTopics(admin, `bench.${run}`);
  const names = { listings: topics.itemListings, content: topics.itemContent };
  const cfg = { ...withTopics(base, topics), groupPrefix: `bench-${run}` };
  const kafka = createKafka(cfg, 'bench');
  const worker = await EncoderWorker.start(cfg);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const consumer = kafka.consumer({ groupId: `bench-${run}` });
  const producer = await createProducer(kafka);
  const codec = defaultCodec();
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: names.content, fromBeginning: true });
    let resolveAll: () => void = () => undefined;
    const all = new Promise<void>((r) => (resolveAll = r));
    await consumer.run({
      eachMessage: async ({ message }) => {
        const id = message.key?.toString() ?? '';
        const t0 = sentAt.get(id);
        if (t0 !== undefined) latencies.push(performance.now() - t0);
        if (latencies.length >= listings) resolveAll();
      },
    });
    const kinds = ['trail running shoe', 'espresso grinder', 'wool sweater', 'noise-cancelling headphones', 'cast iron pan'];
    for (let i = 0; i < listings; i++) {
      const listing: ItemListing = {
        item_id: `bench-${i}`,
        title: `${kinds[i % kinds.length]} model ${i}`,
        category: 'Bench',
        brand: `Brand ${i % 11}`,
        price: `${(i % 90) + 10}.99 EUR`,
        keywords: ['bench', `k${i % 7}`],
        attributes: null,
        listed_at: Date.now(),
      };
      const t0 = performance.now();
      await producer.send({ topic: names.listings, acks: ACKS_ALL, messages: [{ key: listing.item_id, value: codec.encode('ItemListing', listing) }] });
      sentAt.set(listing.item_id, t0);
      const wait = 1000 / ratePerSec - (performance.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`only ${latencies.length}/${listings} ItemContent records arrived`)), 120_000))]);
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
    await worker.stop();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    listings,
    ratePerSec,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? Number.NaN),
    topics: { listings: names.listings, content: names.content },
  };
}
