import type { Producer } from 'kafkajs';
import type { Redis } from 'ioredis';
import { defaultCodec, type UserEvent } from '../codec/index.js';
import type { Config } from '../config/load.js';
import { redisUrl } from '../config/load.js';
import { createKafka } from '../kafka/client.js';
import { ACKS_ALL, createProducer } from '../kafka/producer.js';
import type { TopicNames } from '../kafka/topics.js';
import { StoreKeys, VersionView, connectWithin, createRedisClient } from '../store/index.js';
import { benchListing } from './listings.js';

/** How often Redis is read while a probe waits for its vector. */
export const PROBE_POLL_MS = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A probe's vector did not show up in Redis within its timeout. */
export class ProbeTimeout extends Error {}

/**
 * End-to-end freshness as a client sees it: from producing a message (the send and the broker's ack included) to the
 * vector it causes readable in Redis under the current version, found by polling. What the `freshness` bench measures
 * on an idle pipeline, and the `load` bench under its load. Every probe uses ids of its own (`<prefix>-<n>` items,
 * `<prefix>-u<n>` users), so its vectors are never mistaken for the traffic's; it adds a little traffic (one listing
 * to encode and one event to train per probe).
 */
export class FreshnessProbe {
  private readonly codec = defaultCodec();
  private readonly keys: StoreKeys;
  private events = 0;

  private constructor(
    private readonly producer: Producer,
    private readonly redis: Redis,
    private readonly topics: TopicNames,
    cfg: Config,
    private readonly prefix: string,
    private readonly timeoutMs: number,
  ) {
    this.keys = new StoreKeys(cfg.redisPrefix);
  }

  static async open(cfg: Config, topics: TopicNames, opts: { prefix: string; timeoutMs?: number }): Promise<FreshnessProbe> {
    const producer = await createProducer(createKafka(cfg, 'bench'));
    const redis = createRedisClient(redisUrl(cfg), 'bench');
    try {
      await connectWithin(redis, 5_000);
    } catch (err) {
      redis.disconnect();
      await producer.disconnect();
      throw err;
    }
    return new FreshnessProbe(producer, redis, topics, cfg, opts.prefix, opts.timeoutMs ?? 120_000);
  }

  /** The probe's i-th listing id. */
  itemId(i: number): string {
    return `${this.prefix}-${i}`;
  }

  /** A user id no probe has used yet. */
  newUser(): string {
    return `${this.prefix}-u${this.events++}`;
  }

  /** Produces listing `i` and waits until its item vector is readable; ms from the send. */
  async listing(i: number): Promise<number> {
    const id = this.itemId(i);
    const t0 = performance.now();
    await this.list(i);
    await this.until(`item vector of ${id}`, async (view) => (await view.itemVector(id)) !== undefined);
    return performance.now() - t0;
  }

  /** Produces listing `i` without waiting: the seed catalogue of a pipeline that starts once content exists. */
  async list(i: number): Promise<void> {
    await this.send(this.topics.itemListings, this.itemId(i), this.codec.encode('ItemListing', benchListing(this.prefix, i)));
  }

  /**
   * Produces the first event of a new user on `item` (an item with content) and waits until that user's vector is
   * readable; ms from the send. A new user each time: an existing user's vector also changes when a step or a version
   * build rewrites it with new weights, which would end the wait before the event is in it.
   */
  async event(item: string, user = this.newUser()): Promise<number> {
    const event: UserEvent = { event_id: `${user}-${Date.now()}`, user_id: user, item_id: item, type: 'click', ts: Date.now(), weight: null };
    const t0 = performance.now();
    await this.send(this.topics.userEvents, user, this.codec.encode('UserEvent', event));
    await this.until(`vector of user ${user}`, async (view) => (await view.userVector(user)) !== undefined);
    return performance.now() - t0;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.producer.disconnect();
  }

  private async send(topic: string, key: string, value: Buffer): Promise<void> {
    await this.producer.send({ topic, acks: ACKS_ALL, messages: [{ key, value }] });
  }

  private async until(what: string, done: (view: VersionView) => Promise<boolean>): Promise<void> {
    const start = performance.now();
    for (;;) {
      const view = await VersionView.current(this.redis, this.keys);
      if (view && (await done(view))) return;
      if (performance.now() - start > this.timeoutMs) throw new ProbeTimeout(`freshness probe: ${what} not in redis within ${this.timeoutMs / 1000} s`);
      await sleep(PROBE_POLL_MS);
    }
  }
}
