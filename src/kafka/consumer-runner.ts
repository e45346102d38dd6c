import kafkajs, { type Batch, type Consumer, type ConsumerConfig, type EachBatchPayload, type Kafka, type KafkaMessage } from 'kafkajs';
import { log } from '../ops/logger.js';
import { consumerPaused, messagesProcessed, offsetGaps } from '../ops/metrics.js';
import type { DeadLetter, DeadLetterWriter } from './dead-letter.js';
import { subscribedRoundRobin } from './subscribed-assigner.js';

/** A decoded message and where it came from. */
export interface SourceRecord<T> {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  timestamp: string;
  value: T;
  /** The message value as it arrived: what a dead letter carries. */
  raw: Buffer | null;
}

/** A record the handler could not process for a reason of its own (e.g. a listing with no text). */
export interface Rejection {
  record: SourceRecord<unknown>;
  reason: string;
  error: string;
}

/** The next offset to read per partition: what a commit or a checkpoint stores. */
export type PartitionOffsets = Map<string, Map<number, string>>;

export interface ConsumerRunnerOptions<T> {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  /** Where a group with no committed offset starts. */
  fromBeginning?: boolean;
  /** Turns message bytes into a value; whatever it throws sends the message to the DLQ (`reason` property if present). */
  decode: (value: Buffer | null, message: KafkaMessage, topic: string) => T;
  /** Processes a chunk of decoded records of one partition, in order; returns the records it rejected. */
  handle: (records: Array<SourceRecord<T>>) => Promise<Rejection[] | void>;
  dlq: Pick<DeadLetterWriter, 'write'>;
  /** Larger message values go to the DLQ undecoded. */
  maxMessageBytes: number;
  /** Records per `handle` call; heartbeats and shutdown checks happen between chunks. */
  chunkSize?: number;
  /**
   * after-chunk: offsets are committed as soon as a chunk is handled (its output acknowledged).
   * manual: the owner commits with `commit()` (e.g. the trainer, after the checkpoint that contains them).
   */
  commitMode: 'after-chunk' | 'manual';
  /**
   * Where this owner's state says each partition must be read from next (undefined: no opinion, the group's commit
   * rules), for a role that is the only consumer of its group (the trainer: one per pipeline, fenced). Its checkpoint
   * is the truth, and the group's commit may be older (a commit failed) or newer (an older checkpoint was loaded, or a
   * state directory restored): every assignment, the first and each after a rebalance or a consumer restart, seeks
   * there, since kafkajs resumes from the group's commit (issue 23 §1). A fetch that starts past it is a gap: sought
   * back once, then `onGap` (never silent: those events would be neither trained nor dead-lettered).
   */
  position?: (topic: string, partition: number) => string | undefined;
  /** A gap that seeking back did not close (the records are gone: retention, a recreated topic). Default: logged. */
  onGap?: (err: OffsetGapError) => void;
  /** Polled between chunks; while it returns true the consumer pauses (backpressure). */
  shouldPause?: () => boolean;
  /** How long a crashed member holds its partitions (default 30 s); heartbeats go out at a tenth of it, at most every 3 s. */
  sessionTimeoutMs?: number;
  consumerConfig?: Partial<ConsumerConfig>;
}

/** The dead letter of a record a handler rejected: its original key and bytes, where it came from, and why. */
export function deadLetterOf(r: Rejection): DeadLetter {
  const { topic, partition, offset, key, raw } = r.record;
  return { topic, partition, offset, key, value: raw, reason: r.reason, error: r.error };
}

const { KafkaJSError, PartitionAssigners } = kafkajs;

/**
 * The offset a batch was fetched from: kafkajs keeps it on the batch (untyped); the first record's offset otherwise.
 * Records between the two are control records or compacted away, never a gap.
 */
function fetchedOffsetOf(batch: Batch): string | undefined {
  const fetched = (batch as Batch & { fetchedOffset?: unknown }).fetchedOffset;
  return typeof fetched === 'string' ? fetched : (batch.firstOffset() ?? undefined);
}

/** A fetch started past the owner's position: the records in between would be neither processed nor dead-lettered. */
export class OffsetGapError extends Error {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly expected: string,
    readonly fetched: string,
  ) {
    super(
      `offset gap on ${topic}/${partition}: the state resumes at offset ${expected} but the broker serves from ${fetched} ` +
        `(${BigInt(fetched) - BigInt(expected)} records gone: retention shorter than the checkpoint's age, or the topic recreated). ` +
        'Refusing to skip them silently: restore a newer checkpoint, or accept the loss by moving the state aside.',
    );
    this.name = 'OffsetGapError';
  }
}

/** How long stop() waits for a start still in flight before it disconnects anyway. */
const STOP_WAITS_FOR_START_MS = 15_000;

const reasonOf = (err: unknown): string =>
  typeof err === 'object' && err !== null && 'reason' in err && typeof err.reason === 'string' ? err.reason : 'decode-error';

/**
 * The one consumer loop of every role: eachBatch with explicit resolveOffset and heartbeat, undecodable
 * messages dead-lettered (and acknowledged) before their offset is passed, commits of processed offsets only.
 */
export class ConsumerRunner<T> {
  private readonly consumer: Consumer;
  private readonly l;
  private stopping = false;
  /** Set once stop() has disconnected: a connect or group join after it (a start or a kafkajs restart in flight) is undone. */
  private stopped = false;
  private starting: Promise<void> | undefined;
  private readonly processed: PartitionOffsets = new Map();
  private resumeTimer: NodeJS.Timeout | undefined;
  private readonly pausedPartitions = new Map<string, () => void>();
  /** Partitions assigned to this member now (topic -> partitions); empty while the group rebalances. */
  private assigned = new Map<string, Set<number>>();
  /** `topic/partition` -> the position a gap was last sought back to: the same gap twice is not a race but a loss. */
  private readonly gapSoughtBack = new Map<string, string>();

  constructor(private readonly o: ConsumerRunnerOptions<T>) {
    this.l = log('kafka.consumer').child({ group: o.groupId });
    this.consumer = o.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: o.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: Math.min(3_000, Math.floor((o.sessionTimeoutMs ?? 30_000) / 10)),
      maxBytesPerPartition: Math.max(1_048_576, o.maxMessageBytes),
      // Each topic's partitions only to the members that subscribed to it; kafkajs's round-robin stays offered so a
      // group whose older members know only that one still forms.
      partitionAssigners: [subscribedRoundRobin, PartitionAssigners.roundRobin],
      ...o.consumerConfig,
      // kafkajs restarts a consumer after a retriable crash, and a stop that lands while it is still starting is
      // one (its fetchers find the cluster disconnected): without this the restart outlived the stop, rejoined the
      // group and kept the process alive for ever (a CI run hung in published-vectors). `retries: 5` is kafkajs's
      // own default for a consumer, kept.
      retry: { retries: 5, ...o.consumerConfig?.retry, restartOnFailure: async () => !this.stopping },
    });
    const { GROUP_JOIN, REBALANCING, STOP, CRASH } = this.consumer.events;
    this.consumer.on(GROUP_JOIN, (e) => {
      this.assigned = new Map(Object.entries(e.payload.memberAssignment).map(([topic, partitions]) => [topic, new Set(partitions)]));
      this.seekToPosition();
    });
    for (const lost of [REBALANCING, STOP, CRASH]) this.consumer.on(lost, () => (this.assigned = new Map()));
    for (const late of [this.consumer.events.CONNECT, GROUP_JOIN]) {
      this.consumer.on(late, () => {
        if (this.stopped) void this.consumer.disconnect().catch(() => undefined);
      });
    }
  }

  /** The kafkajs consumer, for its instrumentation events (the table follower counts control-record batches). */
  get kafkaConsumer(): Consumer {
    return this.consumer;
  }

  /** Connects, subscribes and runs the consumer loop; a stop that comes meanwhile waits for it, then undoes it. */
  start(): Promise<void> {
    this.starting = this.connectAndRun();
    return this.starting;
  }

  private async connectAndRun(): Promise<void> {
    if (this.stopping) return;
    await this.consumer.connect();
    if (this.stopping) return;
    for (const topic of this.o.topics) await this.consumer.subscribe({ topic, fromBeginning: this.o.fromBeginning ?? true });
    if (this.stopping) return;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => this.eachBatch(payload),
    });
    this.l.info({ topics: this.o.topics, commitMode: this.o.commitMode }, 'consumer running');
  }

  /**
   * Where the owner resumes a partition: its position, or past what this process handled beyond it (records
   * dead-lettered undecoded, trailing control records: never shown to the owner).
   */
  private resumeAt(topic: string, partition: number): string | undefined {
    const owner = this.o.position?.(topic, partition);
    if (owner === undefined) return undefined;
    const handled = this.processed.get(topic)?.get(partition);
    return handled !== undefined && BigInt(handled) > BigInt(owner) ? handled : owner;
  }

  /** Seeks every assigned partition to where the owner resumes it (applied by kafkajs before its next fetch). */
  private seekToPosition(): void {
    for (const [topic, partitions] of this.assigned) {
      for (const partition of partitions) {
        const offset = this.resumeAt(topic, partition);
        if (offset === undefined) continue;
        this.consumer.seek({ topic, partition, offset });
        this.l.info({ topic, partition, offset }, 'assigned: reading from the position of the restored state');
      }
    }
  }

  /**
   * Whether a batch starts past the owner's position (see `position`). The first time at a position it is sought
   * back (a seek lost in a rebalance race); the second, the records are gone and `onGap` is told.
   */
  private gapBefore(batch: Batch): boolean {
    const expected = this.resumeAt(batch.topic, batch.partition);
    const fetched = fetchedOffsetOf(batch);
    if (expected === undefined || fetched === undefined || BigInt(fetched) <= BigInt(expected)) return false;
    const key = `${batch.topic}/${batch.partition}`;
    const err = new OffsetGapError(batch.topic, batch.partition, expected, fetched);
    offsetGaps.inc({ group: this.o.groupId, topic: batch.topic });
    if (this.gapSoughtBack.get(key) !== expected) {
      this.gapSoughtBack.set(key, expected);
      this.l.warn({ topic: batch.topic, partition: batch.partition, expected, fetched: fetched }, 'offset gap: seeking back to the position of the state');
      this.consumer.seek({ topic: batch.topic, partition: batch.partition, offset: expected });
    } else {
      this.l.error({ err, topic: batch.topic, partition: batch.partition, expected, fetched: fetched }, 'offset gap: records lost before this position');
      (this.o.onGap ?? (() => undefined))(err);
    }
    return true;
  }

  /** The partitions assigned to this member now (empty while the group rebalances). */
  get assignment(): ReadonlyMap<string, ReadonlySet<number>> {
    return this.assigned;
  }

  /** Offsets handled so far (next offset to read), per topic and partition. */
  processedOffsets(): PartitionOffsets {
    return new Map([...this.processed].map(([t, m]) => [t, new Map(m)]));
  }

  /**
   * Commits the given offsets (for commitMode manual), of the partitions assigned to this member now only: a
   * partition handed to another member is that member's to commit (issue 11 §2.10).
   */
  async commit(offsets: PartitionOffsets): Promise<void> {
    const list = [...offsets].flatMap(([topic, m]) =>
      [...m].filter(([partition]) => this.assigned.get(topic)?.has(partition) ?? false).map(([partition, offset]) => ({ topic, partition, offset })),
    );
    if (list.length > 0) await this.consumer.commitOffsets(list);
  }

  /** Stops after the chunk in progress; nothing after it is committed or resolved. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.resumeTimer) clearInterval(this.resumeTimer);
    // A disconnect under a connect or join still in flight let that finish afterwards, connected (see the retry above).
    // The wait is bounded (a join can take the rebalance timeout); what connects or joins later is disconnected then.
    await Promise.race([this.starting?.catch(() => undefined), new Promise((r) => setTimeout(r, STOP_WAITS_FOR_START_MS).unref())]);
    await this.consumer.disconnect();
    this.stopped = true;
    this.l.info('consumer stopped');
  }

  private async eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p;
    if (this.gapBefore(batch)) return;
    const size = this.o.chunkSize ?? 500;
    for (let i = 0; i < batch.messages.length; i += size) {
      if (this.stopping || !p.isRunning() || p.isStale()) return;
      if (this.o.shouldPause?.()) {
        this.pauseUntilClear(batch, p.pause());
        return;
      }
      const chunk = batch.messages.slice(i, i + size);
      // A chunk can outlast the session timeout (the encoder's 256 listings on busy cores): heartbeat while it runs
      // whenever the loop is free (kafkajs throttles these to heartbeatInterval), or the group evicts this member
      // and its commits fail, over and over.
      const keepAlive = setInterval(() => void p.heartbeat().catch(() => undefined), 1_000);
      try {
        await this.processChunk(batch, chunk);
      } catch (err) {
        // A failed chunk (e.g. the DLQ refusing a send: non-retriable to kafkajs) must be read again later, never end
        // consumption: kafkajs leaves a consumer stopped for good after a non-retriable error, and restarts it (from
        // the committed offsets, with backoff) after a retriable one. The fault matrix's refusing-DLQ row shows it.
        throw new KafkaJSError(err instanceof Error ? err : String(err), { retriable: true });
      } finally {
        clearInterval(keepAlive);
      }
      const last = chunk[chunk.length - 1];
      if (last === undefined) continue;
      p.resolveOffset(last.offset);
      const next = (BigInt(last.offset) + 1n).toString();
      this.markProcessed(batch.topic, batch.partition, next);
      if (this.o.commitMode === 'after-chunk') {
        try {
          await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
        } catch (err) {
          // Typically this member was dropped from the group (a broker restart, a long stall). Its output is
          // acknowledged and the roles are idempotent, so the chunk may simply be seen again after the rejoin:
          // stop this batch instead of crashing the consumer.
          this.l.warn({ err: (err as Error).message, topic: batch.topic, partition: batch.partition, offset: next }, 'offset commit failed; rejoining');
          return;
        }
      }
      await p.heartbeat();
    }
    // Every message of the batch handled: its end, past any trailing control records (a transaction's marker, which
    // kafkajs resolves by itself and never hands over), counts as processed too.
    const end = (BigInt(batch.lastOffset()) + 1n).toString();
    if (BigInt(end) > BigInt(this.processed.get(batch.topic)?.get(batch.partition) ?? '0')) this.markProcessed(batch.topic, batch.partition, end);
  }

  private async processChunk(batch: Batch, chunk: KafkaMessage[]): Promise<void> {
    const letters: DeadLetter[] = [];
    const good: Array<SourceRecord<T>> = [];
    for (const m of chunk) {
      const where = { topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key, value: m.value };
      if (m.value && m.value.length > this.o.maxMessageBytes) {
        letters.push({ ...where, reason: 'oversize', error: `message of ${m.value.length} bytes exceeds LEARN_MAX_MESSAGE_BYTES=${this.o.maxMessageBytes}` });
        continue;
      }
      try {
        const value = this.o.decode(m.value, m, batch.topic);
        good.push({ topic: batch.topic, partition: batch.partition, offset: m.offset, key: m.key, timestamp: m.timestamp, value, raw: m.value });
      } catch (err) {
        letters.push({ ...where, reason: reasonOf(err), error: err instanceof Error ? err.message : String(err) });
      }
    }
    // Undecodable messages are acknowledged by the DLQ before the handler runs: a handler that commits on its own (the
    // trainer, at a checkpoint inside the chunk) may commit past them.
    await this.o.dlq.write(letters);
    if (good.length > 0) {
      const rejected = (await this.o.handle(good)) ?? [];
      // Dead letters are acknowledged by the broker before the offsets past them are resolved.
      await this.o.dlq.write(rejected.map(deadLetterOf));
      messagesProcessed.inc({ topic: batch.topic, group: this.o.groupId }, good.length - rejected.length);
    }
  }

  private markProcessed(topic: string, partition: number, next: string): void {
    let m = this.processed.get(topic);
    if (!m) this.processed.set(topic, (m = new Map()));
    m.set(partition, next);
  }

  private pauseUntilClear(batch: Batch, resume: () => void): void {
    this.pausedPartitions.set(`${batch.topic}:${batch.partition}`, resume);
    consumerPaused.set({ group: this.o.groupId }, 1);
    if (this.resumeTimer) return;
    this.l.warn('backpressure: consumption paused');
    this.resumeTimer = setInterval(() => {
      if (this.o.shouldPause?.() || this.stopping) return;
      clearInterval(this.resumeTimer);
      this.resumeTimer = undefined;
      for (const r of this.pausedPartitions.values()) r();
      this.pausedPartitions.clear();
      consumerPaused.set({ group: this.o.groupId }, 0);
      this.l.info('backpressure cleared: consumption resumed');
    }, 200);
  }
}
