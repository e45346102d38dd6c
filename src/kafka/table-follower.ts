import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { log } from '../ops/logger.js';
import { ConsumerRunner, type Rejection, type SourceRecord } from './consumer-runner.js';
import type { DeadLetter, DeadLetterWriter } from './dead-letter.js';

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
  dlq: Pick<DeadLetterWriter, 'write'>;
  maxMessageBytes: number;
  /**
   * Loading ends when every partition reached its end offset at start, or when nothing came for this long once
   * the partitions are assigned: a partition whose last records were compacted away never reaches its end offset
   * (kafkajs hands no empty batch over). Default 10 s.
   */
  idleLoadedMs?: number;
  /**
   * Per partition, the offset below which refused records were dead-lettered by an earlier run (its
   * `deadLetteredThrough()`, kept by the caller): they are refused again, not dead-lettered again. A mark above the
   * partition's end offset (the topic was recreated) is ignored.
   */
  deadLetteredBelow?: ReadonlyMap<number, bigint>;
}

const IDLE_LOADED_MS = 10_000;

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
  private abortLoad: ((err: Error) => void) | undefined;
  private stopped = false;
  private records = 0;
  private lastProgressAt = Date.now();
  private readonly deadLetteredBelow = new Map<number, bigint>();

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
        this.lastProgressAt = Date.now();
        this.records += records.length;
        this.checkCaughtUp();
        return rejected;
      },
      dlq: { write: (letters) => this.writeNewLetters(letters) },
      maxMessageBytes: o.maxMessageBytes,
      commitMode: 'manual',
    });
    this.runner.kafkaConsumer.on(this.runner.kafkaConsumer.events.GROUP_JOIN, () => {
      this.lastProgressAt = Date.now();
    });
    // A batch of only control records (a transaction's commit marker) reaches no handler either: count its end.
    this.runner.kafkaConsumer.on(this.runner.kafkaConsumer.events.END_BATCH_PROCESS, (e) => {
      if (e.payload.topic !== o.topic || e.payload.batchSize !== 0) return;
      const next = BigInt(e.payload.lastOffset) + 1n;
      if (next > (this.reached.get(e.payload.partition) ?? 0n)) this.reached.set(e.payload.partition, next);
      this.lastProgressAt = Date.now();
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
    if (this.stopped) throw this.stoppedBeforeLoad();
    for (const [partition, below] of this.o.deadLetteredBelow ?? []) {
      const high = this.highWatermarks.get(partition);
      if (high !== undefined && below <= high) this.deadLetteredBelow.set(partition, below);
      else log('kafka.table').warn({ topic: this.o.topic, partition, below: String(below), high: String(high) }, 'dead-letter mark past the end of the partition (topic recreated?): ignored');
    }
    const started = Date.now();
    this.lastProgressAt = started;
    const done = new Promise<void>((resolve, reject) => {
      this.caughtUp = resolve;
      this.abortLoad = reject;
    });
    // A stop while the runner is still starting rejects `done` before anything awaits it: handled here, so it is
    // no unhandled rejection (which ends the process), and surfaced by the await below.
    done.catch(() => undefined);
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

  /**
   * Per partition, the offset below which every refused record is dead-lettered (acknowledged by the DLQ), by this
   * run or an earlier one: what a later run passes as `deadLetteredBelow`.
   */
  deadLetteredThrough(): Map<number, bigint> {
    const out = new Map(this.deadLetteredBelow);
    for (const [partition, next] of this.runner.processedOffsets().get(this.o.topic) ?? []) {
      if (BigInt(next) > (out.get(partition) ?? 0n)) out.set(partition, BigInt(next));
    }
    return out;
  }

  /** Dead-letters refusals, except those of records an earlier run dead-lettered already (read again at every start). */
  private async writeNewLetters(letters: DeadLetter[]): Promise<void> {
    const fresh = letters.filter((l) => BigInt(l.offset) >= (this.deadLetteredBelow.get(l.partition) ?? 0n));
    if (fresh.length < letters.length) {
      log('kafka.table').debug({ topic: this.o.topic, refused: letters.length - fresh.length }, 'refused again, dead-lettered by an earlier run');
    }
    if (fresh.length > 0) await this.o.dlq.write(fresh);
  }

  /** Stops following; a `start()` still loading rejects, at whatever point of its start-up it is. */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.caughtUp) {
      this.caughtUp = undefined;
      this.abortLoad?.(this.stoppedBeforeLoad());
    }
    return this.runner.stop();
  }

  private stoppedBeforeLoad(): Error {
    return new Error(`table follower of ${this.o.topic} stopped before the table loaded`);
  }

  private checkCaughtUp(): void {
    if (!this.caughtUp) return;
    // Dead-lettered records also count as reached: the runner's processed offsets cover them.
    const processed = this.runner.processedOffsets().get(this.o.topic);
    const behind: number[] = [];
    for (const [partition, high] of this.highWatermarks) {
      const at = [this.reached.get(partition), processed ? BigInt(processed.get(partition) ?? '0') : undefined]
        .filter((x): x is bigint => x !== undefined)
        .reduce((a, b) => (a > b ? a : b), 0n);
      if (at < high) behind.push(partition);
    }
    if (behind.length > 0) {
      const assigned = this.runner.assignment.get(this.o.topic)?.size ?? 0;
      const idle = Date.now() - this.lastProgressAt;
      if (assigned < this.highWatermarks.size || idle < (this.o.idleLoadedMs ?? IDLE_LOADED_MS)) return;
      log('kafka.table').warn({ topic: this.o.topic, partitions: behind, idleMs: idle }, 'table taken as loaded: nothing more came for partitions short of their end offset (records compacted away?)');
    }
    const resolve = this.caughtUp;
    this.caughtUp = undefined;
    resolve();
  }
}
