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

/**
 * End-to-end freshness as a client sees it: a message produced (acknowledged by the broker) to the vector it causes
 * readable in Redis under the current version, found by polling. What the `freshness` bench measures on an idle
 * pipeline, and the `load` bench under its load. Each probe works on its own ids (`<prefix>-*`), so it never
 * disturbs, and is never mistaken for, the traffic beside it.
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

  /** Produces listing `i` and waits until its item vector is readable; ms from the broker's ack. */
  async listing(i: number): Promise<number> {
    const id = this.itemId(i);
    const t0 = performance.now();
    await this.send(this.topics.itemListings, id, this.codec.encode('ItemListing', benchListing(this.prefix, i)));
    await this.until(`item vector of ${id}`, async (view) => (await view.itemVector(id)) !== undefined);
    return performance.now() - t0;
  }

  /** Produces listing `i` without waiting: the seed catalogue of a pipeline that starts once content exists. */
  async list(i: number): Promise<void> {
    await this.send(this.topics.itemListings, this.itemId(i), this.codec.encode('ItemListing', benchListing(this.prefix, i)));
  }

  /**
   * Produces an event of `user` on `item` (an item with content) and waits until the user's vector in Redis differs
   * from the one before it (or exists, for a first event); ms from the broker's ack.
   */
  async event(user: string, item: string): Promise<number> {
    const before = await this.userBytes(user);
    const n = this.events++;
    const event: UserEvent = { event_id: `${this.prefix}-e${n}-${Date.now()}`, user_id: user, item_id: item, type: 'click', ts: Date.now(), weight: null };
    const t0 = performance.now();
    await this.send(this.topics.userEvents, user, this.codec.encode('UserEvent', event));
    await this.until(`vector of user ${user}`, async () => {
      const now = await this.userBytes(user);
      return now !== undefined && (before === undefined || !now.equals(before));
    });
    return performance.now() - t0;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.producer.disconnect();
  }

  private async send(topic: string, key: string, value: Buffer): Promise<void> {
    await this.producer.send({ topic, acks: ACKS_ALL, messages: [{ key, value }] });
  }

  private async userBytes(user: string): Promise<Buffer | undefined> {
    const v = await (await VersionView.current(this.redis, this.keys))?.userVector(user);
    return v === undefined ? undefined : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }

  private async until(what: string, done: (view: VersionView) => Promise<boolean>): Promise<void> {
    const start = performance.now();
    for (;;) {
      const view = await VersionView.current(this.redis, this.keys);
      if (view && (await done(view))) return;
      if (performance.now() - start > this.timeoutMs) throw new Error(`freshness probe: ${what} not in redis within ${this.timeoutMs / 1000} s`);
      await sleep(PROBE_POLL_MS);
    }
  }
}
