import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { log } from '../ops/logger.js';
import { ConsumerRunner, type Rejection, type SourceRecord } from './consumer-runner.js';
import type { DeadLetterWriter } from './dead-letter.js';

export interface TableFollowerOptions<T> {
  kafka: Kafka;
  topic: string;
  /** Names the throwaway consumer group, e.g. `learn-trainer-content`. */
  role: string;
  decode: (value: Buffer) => T;
  /**
   * Called in offset order per partition; `value` null is a tombstone (delete the key). What it throws with a
   * string `reason` property (e.g. a vector the table cannot hold) is dead-lettered with that reason.
   */
  apply: (key: string, value: T | null, record: SourceRecord<T | null>) => void;
  dlq: DeadLetterWriter;
  maxMessageBytes: number;
}

/**
 * Follows a compacted topic as a table: reads it from the beginning on every start (it is the source of
 * truth, so nothing is committed and the group is throwaway), resolves `start()` once it has caught up with
 * the end offsets seen at start, then keeps applying new records.
 */
export class TableFollower<T> {
  private readonly runner: ConsumerRunner<T | null>;
  private readonly highWatermarks = new Map<number, bigint>();
  private readonly reached = new Map<number, bigint>();
  private caughtUp: (() => void) | undefined;
  private records = 0;

  constructor(private readonly o: TableFollowerOptions<T>) {
    this.runner = new ConsumerRunner<T | null>({
      kafka: o.kafka,
      groupId: `${o.role}-${randomBytes(6).toString('hex')}`,
      topics: [o.topic],
      fromBeginning: true,
      decode: (value) => (value === null ? null : o.decode(value)),
      handle: async (records) => {
        const rejected: Rejection[] = [];
        for (const r of records) {
          if (r.key !== null) {
            try {
              this.o.apply(r.key.toString('utf8'), r.value, r);
            } catch (err) {
              const reason = (err as { reason?: unknown }).reason;
              if (typeof reason !== 'string') throw err;
              rejected.push({ record: r, reason, error: (err as Error).message });
            }
          }
          this.reached.set(r.partition, BigInt(r.offset) + 1n);
        }
        this.records += records.length;
        this.checkCaughtUp();
        return rejected;
      },
      dlq: o.dlq,
      maxMessageBytes: o.maxMessageBytes,
      commitMode: 'manual',
    });
  }

  /** Starts following; resolves when every record present at start has been applied. */
  async start(): Promise<void> {
    const admin = this.o.kafka.admin();
    await admin.connect();
    try {
      for (const p of await admin.fetchTopicOffsets(this.o.topic)) this.highWatermarks.set(p.partition, BigInt(p.high));
    } finally {
      await admin.disconnect();
    }
    const started = Date.now();
    const done = new Promise<void>((resolve) => {
      this.caughtUp = resolve;
    });
    await this.runner.start();
    // Also polled: a chunk made only of dead letters reaches no `handle` call.
    const poll = setInterval(() => this.checkCaughtUp(), 200);
    try {
      await done;
    } finally {
      clearInterval(poll);
    }
    log('kafka.table').info({ topic: this.o.topic, records: this.records, ms: Date.now() - started }, 'table loaded');
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  private checkCaughtUp(): void {
    if (!this.caughtUp) return;
    // Dead-lettered records also count as reached: the runner's processed offsets cover them.
    const processed = this.runner.processedOffsets().get(this.o.topic);
    for (const [partition, high] of this.highWatermarks) {
      const at = [this.reached.get(partition), processed ? BigInt(processed.get(partition) ?? '0') : undefined]
        .filter((x): x is bigint => x !== undefined)
        .reduce((a, b) => (a > b ? a : b), 0n);
      if (at < high) return;
    }
    const resolve = this.caughtUp;
    this.caughtUp = undefined;
    resolve();
  }
}
