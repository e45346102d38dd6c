// Pieces shared by the suites that run the pipeline's roles as child processes.
import type { Producer } from 'kafkajs';
import { defaultCodec, type ItemContent, type UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import type { Rng } from '../../src/model/rng.js';

/** A child's env common to the crash and fault suites: small model, quick windows and checkpoints, no metrics port. */
export const SMALL_TRAINER_ENV: Record<string, string> = {
  LEARN_METRICS_PORT: '0',
  // A killed member's partitions move on after 6 s rather than 30 s.
  LEARN_KAFKA_SESSION_TIMEOUT_MS: '6000',
  LEARN_BATCH_USERS: '16',
  LEARN_WINDOW_MS: '300',
  LEARN_CHECKPOINT_EVERY_BATCHES: '4',
  LEARN_CHECKPOINT_EVERY_MS: '1000',
  LEARN_PAL_DIM: '64',
  LEARN_PAL_LAYERS: '1',
  LEARN_HISTORY_LEN: '20',
  LEARN_ENCODER_BATCH: '8',
  LEARN_ENCODER_THREADS: '1',
};

/** A random unit content vector as ItemContent's little-endian float32 bytes. */
export function unitVector(rng: Rng, dim: number): Buffer {
  const v = new Float32Array(dim).map(() => rng.normal());
  const n = Math.hypot(...v);
  return Buffer.from(v.map((x) => x / n).buffer);
}

/** `n` ItemContent records `<prefix>-0` .. `<prefix>-<n-1>` with random unit vectors of `dim`. */
export function randomContents(prefix: string, n: number, dim: number, rng: Rng): ItemContent[] {
  return Array.from({ length: n }, (_, i) => ({
    item_id: `${prefix}-${i}`,
    model_id: 'all-minilm-l6-v2-q@test',
    text_hash: 'e'.repeat(64),
    dim,
    vector: unitVector(rng, dim),
    encoded_at: 1,
  }));
}

/** Publishes ItemContent records (null: a tombstone) to the item-content topic of `cfg`, keyed by item. */
export async function publishContents(cfg: Config, contents: Array<ItemContent | { item_id: string; tombstone: true }>): Promise<void> {
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  try {
    await producer.send({
      topic: cfg.topicItemContent,
      acks: ACKS_ALL,
      messages: contents.map((c) => ({ key: c.item_id, value: 'tombstone' in c ? null : defaultCodec().encode('ItemContent', c) })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** `n` clicks `<prefix>-e<i>` of five users on the items `<prefix>-0` .. `<prefix>-5` (see randomContents), a second apart. */
export function clickEvents(prefix: string, n: number): UserEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    event_id: `${prefix}-e${i}`,
    user_id: `u${i % 5}`,
    item_id: `${prefix}-${i % 6}`,
    type: 'click',
    ts: 1_700_000_000_000 + i * 1000,
    weight: null,
  }));
}

/** Sends user events to the events topic of `cfg`, keyed by user, acknowledged by every replica. */
export async function sendEvents(producer: Producer, cfg: Config, events: UserEvent[]): Promise<void> {
  const codec = defaultCodec();
  await producer.send({ topic: cfg.topicUserEvents, acks: ACKS_ALL, messages: events.map((e) => ({ key: e.user_id, value: codec.encode('UserEvent', e) })) });
}
