import { EventEmitter } from 'node:events';
import { join, resolve } from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { defaultCodec, type ItemContent, type UserEvent } from '../codec/index.js';
import type { Config } from '../config/load.js';
import { PROJECT_ROOT } from '../config/paths.js';
import { createKafka } from '../kafka/client.js';
import { ConsumerRunner, type PartitionOffsets, type Rejection, type SourceRecord } from '../kafka/consumer-runner.js';
import { DeadLetterWriter } from '../kafka/dead-letter.js';
import { createProducer } from '../kafka/producer.js';
import { TableFollower } from '../kafka/table-follower.js';
import { topicsFrom } from '../kafka/topics.js';
import { ContentTable } from '../learner/content-table.js';
import { contentModelName } from '../encoder/model-spec.js';
import { OnlineModel, type OnlineModelState, type WindowExamples } from '../learner/online-model.js';
import { selectBackend, type ItemRef, type NamedArrays, type NegativePool } from '../model/index.js';
import { log } from '../ops/logger.js';
import { StallWatch } from '../ops/stall-watch.js';
import { CheckpointStore } from './checkpoint.js';
import { CheckpointCadence } from './checkpoint-cadence.js';
import { addToDigest } from './digest.js';
import * as m from './metrics.js';
import { StateDirLock } from './state-lock.js';
import { EventIntake } from './event-intake.js';
import { StreamPass } from './stream-pass.js';
import { WindowAge } from './window-age.js';
import { PendingListings } from './listed-items.js';
import type { WaitingEvent } from './waiting-events.js';
import type { WindowPolicy } from './window.js';

/** How long a failed trainer's stop waits for the turn still running (a stalled one never ends). */
const STOP_AFTER_FAILURE_WAIT_MS = 10_000;

/** How often waiting events are checked against the content table, besides the arrival notices. */
const WAITING_SWEEP_MS = 2_000;

/** The trainer's consumer group: `learn-trainer` unless LEARN_GROUP_PREFIX gives this pipeline its own. */
export const trainerGroup = (cfg: Pick<Config, 'groupPrefix'>): string => `${cfg.groupPrefix}-trainer`;

/** The JSON part of a trainer checkpoint (the float arrays travel beside it): the model's state and the stream position. */
export interface TrainerCheckpointState extends OnlineModelState {
  step: number;
  batches: number;
  eventsTrained: number;
  /** Hex of the order-free digest of the trained event ids (see digest.ts). */
  digest: string;
  /** Next offset to read per topic and partition: everything before it is trained or waiting. */
  offsets: Record<string, Record<string, string>>;
  waiting: WaitingEvent[];
  /**
   * Per content topic and partition, the offset below which refused content records are dead-lettered: the content
   * table is read again at every start, and its bad records are dead-lettered once, not at every restart. (Absent
   * from checkpoints before it: those records are dead-lettered once more.)
   */
  contentDeadLettered?: Record<string, Record<string, string>>;
}

/** A checkpoint's content taken at one moment, to be written once its dead letters and its gate allow. */
interface TakenCheckpoint {
  trained: PartitionOffsets;
  /** The windows it covers (CheckpointCadence.mark). */
  mark: number;
  state: Promise<{ state: OnlineModelState; arrays: NamedArrays }>;
  position: Omit<TrainerCheckpointState, keyof OnlineModelState>;
}

/** One trained micro-batch, as `windowTrained` listeners see it. */
export interface TrainedWindow extends WindowExamples {
  loss: number;
}

/**
 * What the trainer emits (like kafkajs's instrumentation events). Listeners run synchronously, in order; one that
 * throws fails the window (the role stops without a checkpoint).
 * - windowReady: a window about to be learned from (test-then-train: the replay scores here, with the old weights);
 * - windowTrained: after the step and the history update (the vector publisher writes touched users);
 * - contentArrived: a new, changed or removed (tombstone) item content vector (cold start: its item vector can be served at once);
 * - eventsArrived: after each consumed chunk (and each release from waiting), the users with new events in the open
 *   window: their vectors (`userVectors`) can be served now, before the window trains (issue 13 goal 5).
 */
export interface TrainerEvents {
  windowReady: [w: WindowExamples];
  windowTrained: [w: TrainedWindow];
  contentArrived: [itemId: string];
  eventsArrived: [users: string[]];
}

/**
 * What publishes the model while it trains (the vector publisher). The trainer starts it itself, in `prepare` once the
 * model is ready and before anything is consumed, so no caller can get that order wrong.
 */
export interface TrainerPublisher {
  /** Follows the trainer's events; resolves once it can write (it may wait for its store). */
  start(trainer: Trainer): Promise<void>;
  /** Polled by the consumer: true pauses consumption (e.g. the vector store's buffer is full). */
  shouldPause(): boolean;
  /** Before a checkpoint: false postpones it (and so the offset commit), e.g. while vector writes are unflushed. */
  beforeCheckpoint(): Promise<boolean>;
}

/** Collaborators the trainer asks, all given at construction (nothing is attached later). */
export interface TrainerCollaborators {
  /** The vector publisher: started by `prepare`; its backpressure and checkpoint gate replace the ones below. */
  publisher?: TrainerPublisher;
  /** Polled by the consumer when there is no publisher: true pauses consumption. */
  backpressure?: { shouldPause(): boolean };
  /** Where a window's negatives are drawn from (default: the whole content table). */
  negativePool?: (w: WindowExamples) => NegativePool;
  /**
   * Whether a window may rehearse, given how long ago (wall clock, ms) its oldest consumed event was written to Kafka
   * (default: always). The live role drops rehearsal while it is behind (LEARN_REHEARSAL_MAX_DELAY_MS); a replay or a
   * pretraining pass always rehearses.
   */
  rehearsal?: { allowed(delayMs: number): boolean };
  /**
   * The live trainer's lease on its pipeline (issue 23 §2): a checkpoint is written only while it is surely held (a
   * trainer paused past it may have a successor, whose checkpoints it must not follow), and a lock file left by
   * another host is taken over since a live trainer there would hold the lease.
   */
  lease?: { held(): boolean };
}

/** How the trainer runs, besides its settings. */
export interface TrainerOptions {
  /**
   * The window's time cut: LEARN_WINDOW_MS by default; 'none' cuts windows by size only (the replay's protocol: the
   * same windows however fast the machine is; the last one is trained by flush()).
   */
  windowMaxAgeMs?: WindowPolicy['maxAgeMs'];
  /**
   * false: a full window never grows while a step runs in the training thread (the replay's protocol); it waits for
   * the step. Default: it grows up to LEARN_WINDOW_GROWTH_EVENTS / LEARN_WINDOW_GROWTH_USERS.
   */
  windowGrowth?: boolean;
  /** Where it logs (default the process's logger, component `trainer`). */
  log?: Logger;
}

export interface TrainerStats {
  /** Events handled by this process (trained, waiting, in the open window or dead-lettered). */
  consumed: number;
  /** Seconds spent in optimizer steps. */
  trainSeconds: number;
  step: number;
  batches: number;
  eventsTrained: number;
  digest: string;
  waiting: number;
  users: number;
  items: number;
  lastLoss: number;
  checkpointSeq: number;
  /** Windows trained without rehearsal because the trainer was behind. */
  rehearsalSkipped: number;
  /** Events of the last window trained, and the wall-clock ms from its cut to its weights in use (steps included). */
  lastWindowEvents: number;
  lastStepMs: number;
}

/**
 * `learn train`: user events -> micro-batches -> PAL steps (the paper's PAL, trained online).
 * Exactly once across crashes: the checkpoint holds weights, optimizer moments, histories, the rehearsal buffer, waiting events and the
 * offsets of everything they contain; Kafka offsets are committed only after that checkpoint is on disk, and on
 * start records below the checkpoint's offsets are skipped as already trained.
 */
export class Trainer extends EventEmitter<TrainerEvents> {
  private onlineModel: OnlineModel | undefined;
  private readonly content: ContentTable;
  /** De-duplication, validation, the open window, waiting events and their dead letters (no Kafka: unit-tested alone). */
  private readonly intake: EventIntake;
  private readonly store: CheckpointStore<TrainerCheckpointState>;
  /** Issue 11 §2.10: one trainer per state directory, held from prepare() to stop(). */
  private lock: StateDirLock | undefined;
  /** Offsets of the last trained window: what a checkpoint may claim. */
  private trained: PartitionOffsets = new Map();
  private runner: ConsumerRunner<UserEvent> | undefined;
  private follower: TableFollower<ItemContent> | undefined;
  /** The content follower's dead-letter marks in the newest checkpoint (or the one restored), as written there. */
  private checkpointedContentLetters = '{}';
  /** Keys of the listings topic: which items the encoder is still working on (their events wait on; issue 11 §2.8). */
  private listingsFollower: TableFollower<true> | undefined;
  private readonly pendingListings: PendingListings;
  private kafka: Kafka | undefined;
  private producer: Producer | undefined;
  private dlq: DeadLetterWriter | undefined;
  private timer: NodeJS.Timeout | undefined;
  private tickQueued = false;
  private queue: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private readonly cadence: CheckpointCadence;
  private digest = 0n;
  private lastSweepAt = Date.now();
  /** Set by `prepare` once the model and the publisher are ready. */
  private prepared = false;
  /** Age of the oldest event consumed into the open window, by record timestamps bounded by arrival: how far behind the trainer is. */
  private readonly windowAge: WindowAge;
  /**
   * The window whose steps run in the training thread (LEARN_TRAIN_THREAD), until its bookkeeping is done: one at a
   * time. Meanwhile the open window keeps filling (up to its growth bound) and vectors are served from the weights
   * of the step before.
   */
  private stepping: Promise<void> | undefined;
  /** A checkpoint taken as a stepped window finished, written by the follow-up (see afterStep). */
  private takenCheckpoint: TakenCheckpoint | undefined;
  /** Set when a step failed: the in-memory state no longer matches the offsets, so nothing more may be checkpointed. */
  private broken: Error | undefined;
  private reportFailure: (err: Error) => void = () => undefined;
  /** Resolves with the error if training fails; the role then exits and a restart resumes from the last checkpoint. */
  readonly failure = new Promise<Error>((resolve) => {
    this.reportFailure = resolve;
  });
  private readonly l: Logger;
  /** Every awaited operation that must settle, bounded by LEARN_STALL_TIMEOUT_MS (see StallWatch). */
  private readonly watch: StallWatch;
  readonly stats: TrainerStats = { consumed: 0, trainSeconds: 0, step: 0, batches: 0, eventsTrained: 0, digest: '0', waiting: 0, users: 0, items: 0, lastLoss: 0, checkpointSeq: 0, rehearsalSkipped: 0, lastWindowEvents: 0, lastStepMs: 0 };

  constructor(
    readonly cfg: Config,
    private readonly collaborators: TrainerCollaborators = {},
    options: TrainerOptions = {},
  ) {
    super();
    this.l = options.log ?? log('trainer');
    this.content = new ContentTable(undefined, cfg.maxItems, contentModelName(cfg.encoderModel));
    this.pendingListings = new PendingListings(cfg.maxWaitingEvents, this.content);
    const growth = options.windowGrowth === false ? {} : { growthUsers: cfg.windowGrowthUsers, growthEvents: cfg.windowGrowthEvents };
    this.intake = new EventIntake(cfg, this.content, { listed: this.pendingListings }, { maxAgeMs: options.windowMaxAgeMs ?? cfg.windowMs, ...growth });
    this.store = new CheckpointStore(join(resolve(PROJECT_ROOT, cfg.stateDir), 'checkpoints'), cfg.checkpointsKept);
    // Producer clock skew below the rehearsal limit moves the gate by less than the limit itself.
    this.windowAge = new WindowAge(cfg.rehearsalMaxDelayMs);
    this.cadence = new CheckpointCadence(cfg.checkpointEveryBatches, cfg.checkpointEveryMs);
    this.watch = new StallWatch({ component: 'trainer', timeoutMs: cfg.stallTimeoutMs, log: this.l, onStall: (err) => this.fail(err) });
  }

  /** A trainer prepared and consuming (the role's full wiring, lease and vector publisher: startTrainerRole). */
  static async start(cfg: Config, collaborators: TrainerCollaborators = {}): Promise<Trainer> {
    const t = new Trainer(cfg, collaborators);
    await t.prepare();
    await t.consume();
    return t;
  }

  /** The model being trained (after `prepare`). */
  get model(): OnlineModel {
    if (!this.onlineModel) throw new Error('the trainer is not prepared yet');
    return this.onlineModel;
  }

  /**
   * Vectors of `users` from everything consumed for them (their history and their events in the open window, not
   * learned from yet) under the current weights: what they should be served now.
   */
  userVectors(users: readonly string[]): Map<string, Float32Array> {
    return this.model.userVectors(users, this.intake.openEvents(users));
  }

  /** The histories `userVectors` reads now (OnlineModel.userHistories): to compute the vectors in parts. */
  userHistories(users: readonly string[]): { ids: string[]; histories: ItemRef[][] } {
    return this.model.userHistories(users, this.intake.openEvents(users));
  }

  /** The open window's events of `users` (consumed, not learned from yet), event-time order. */
  openEvents(users: readonly string[]): Map<string, UserEvent[]> {
    return this.intake.openEvents(users);
  }

  /** Event time of a user's newest consumed event (0: none): for the freshness metric. */
  lastEventTime(userId: string): number {
    const open = this.intake.openEvents([userId]).get(userId)?.at(-1)?.ts ?? 0;
    return Math.max(open, this.model.history(userId)?.lastTs ?? 0);
  }

  /** Tells listeners which users got new events in the open window (see `eventsArrived`). */
  private announceArrivals(): void {
    const users = this.intake.takeArrivals();
    if (users.length > 0) this.emit('eventsArrived', users);
  }

  /**
   * Backend, producer, content table and model (from the newest checkpoint, or fresh), then the publisher started on
   * that model: everything but the consumer. `consume` and `pretrain` need it done.
   */
  async prepare(contentDim?: number): Promise<void> {
    if (this.prepared) throw new Error('the trainer is prepared already');
    // Issue 11 §2.10: fails if another trainer holds it.
    this.lock ??= StateDirLock.acquire(resolve(PROJECT_ROOT, this.cfg.stateDir), { leaseHeld: this.collaborators.lease?.held() ?? false });
    // The checkpoint thread starts while the backend and the model load, not at the first checkpoint.
    this.store.startWriter();
    const backend = await selectBackend(this.cfg.tfBackend);
    const codec = defaultCodec();
    const topics = topicsFrom(this.cfg);
    this.kafka = createKafka(this.cfg, 'trainer');
    this.producer = await createProducer(this.kafka);
    this.dlq = new DeadLetterWriter(this.producer, trainerGroup(this.cfg), topics.dlq);

    const ckpt = this.store.loadLatest();
    const lettered = ckpt?.state.contentDeadLettered?.[topics.itemContent] ?? {};
    this.checkpointedContentLetters = JSON.stringify(lettered);
    this.follower = new TableFollower<ItemContent>({
      kafka: this.kafka,
      topic: topics.itemContent,
      role: `${trainerGroup(this.cfg)}-content`,
      // Validated once, by the content table as it applies the record (a refusal is dead-lettered with its reason).
      decode: (v) => codec.decode('ItemContent', v),
      apply: (itemId, c) => {
        this.pendingListings.settled(itemId);
        if (this.content.apply(itemId, c) && this.onlineModel) this.emit('contentArrived', itemId);
      },
      dlq: this.dlq,
      maxMessageBytes: this.cfg.maxMessageBytes,
      deadLetteredBelow: new Map(Object.entries(lettered).map(([p, o]) => [Number(p), BigInt(o)])),
    });
    await this.follower.start();
    this.listingsFollower = new TableFollower<true>({
      kafka: this.kafka,
      topic: topics.itemListings,
      role: `${trainerGroup(this.cfg)}-listings`,
      // Only the key (the item id) matters here; the encoder validates listings and dead-letters the bad ones.
      decode: () => true,
      apply: (itemId, listing) => (listing === null ? this.pendingListings.settled(itemId) : this.pendingListings.listed(itemId)),
      dlq: { write: async () => undefined },
      maxMessageBytes: this.cfg.maxMessageBytes,
    });
    // Not awaited: a week of listings may take a while to read, and until then waiting is bounded by time alone.
    this.listingsFollower.start().catch((err: unknown) => this.l.warn({ err: (err as Error).message }, 'listings follower stopped or failed: waiting events of listed items are bounded by time alone'));

    if (ckpt) {
      this.restore(ckpt.state, ckpt.arrays, ckpt.seq);
    } else {
      if (contentDim === undefined && this.content.dim === undefined) {
        this.l.info({ topic: topics.itemContent }, 'no checkpoint: waiting for the first item content vector to size the model');
      }
      const dim = this.content.dim ?? contentDim ?? (await this.content.firstDim());
      this.onlineModel = OnlineModel.fresh(this.cfg, this.content, dim);
    }
    if (this.cfg.trainThread) await this.model.trainOffLoop(backend.choice, (err) => this.fail(new Error(`training thread failed: ${err.message}`)));
    this.l.info(
      { backend: backend.choice, contentDim: this.model.config.contentDim, checkpoint: ckpt?.seq ?? null, step: this.model.step, items: this.content.size, trainThread: this.cfg.trainThread },
      'trainer ready',
    );
    await this.collaborators.publisher?.start(this);
    this.prepared = true;
  }

  private assertPrepared(step: string): void {
    if (!this.prepared) throw new Error(`the trainer must be prepared before it can ${step}`);
  }

  /**
   * Partitions of the events topic that the restored checkpoint never read from (all of them without one) start at
   * their log start, not at the group's commit: that commit may be a newer checkpoint's (a fallback, every checkpoint
   * unreadable, a restored state directory), and the events before it would be neither trained nor dead-lettered
   * (issue 23 §1; a first checkpoint often holds one partition only).
   */
  private async startUnreadPartitions(topic: string): Promise<void> {
    const admin = this.kafka!.admin();
    await admin.connect();
    try {
      for (const { partition, low } of await admin.fetchTopicOffsets(topic)) this.intake.startAt(topic, partition, low);
    } finally {
      await admin.disconnect();
    }
  }

  /** Starts consuming user events (live training). */
  async consume(): Promise<void> {
    this.assertPrepared('consume');
    const codec = defaultCodec();
    await this.startUnreadPartitions(topicsFrom(this.cfg).userEvents);
    this.runner = new ConsumerRunner<UserEvent>({
      kafka: this.kafka!,
      groupId: trainerGroup(this.cfg),
      topics: [topicsFrom(this.cfg).userEvents],
      decode: (v) => codec.decode('UserEvent', v ?? Buffer.alloc(0)),
      handle: (records) => this.serial(() => this.handle(records), 'consumed chunk'),
      dlq: this.dlq!,
      maxMessageBytes: this.cfg.maxMessageBytes,
      chunkSize: 500,
      commitMode: 'manual',
      sessionTimeoutMs: this.cfg.kafkaSessionTimeoutMs,
      shouldPause: () => (this.collaborators.publisher ?? this.collaborators.backpressure)?.shouldPause() ?? false,
      // Issue 11 §2.7, issue 23 §1: on every assignment, read on from what this trainer holds (the restored checkpoint's
      // offsets, then everything consumed since), even below the group's commit (an older checkpoint was loaded).
      position: (topic, partition) => this.intake.nextOffset(topic, partition),
      onGap: (err) => this.fail(err),
    });
    await this.runner.start();
    this.timer = setInterval(() => {
      // One timer turn queued at a time: behind a long turn they would pile up.
      if (this.tickQueued) return;
      this.tickQueued = true;
      void this.serial(() => this.tick(), 'window timer')
        .catch((err: unknown) => this.l.error({ err }, 'tick failed'))
        .finally(() => (this.tickQueued = false));
    }, 100);
  }

  /**
   * Warm start (the paper pre-trains before fine-tuning): trains on a historical log with the live schedule,
   * event-time ordered, then checkpoints. The log is checked and cut by the in-process replay's StreamPass; events
   * that are invalid or have no content vector are counted and skipped.
   */
  async pretrain(events: Iterable<UserEvent>, onProgress?: (done: number) => void): Promise<{ trained: number; skipped: number; invalid: number }> {
    this.assertPrepared('pretrain');
    const pass = new StreamPass(this.cfg, this.content, this.intake.historicalWindow(), () => this.trainWindow());
    let done = 0;
    await this.serial(async () => {
      for (const e of events) {
        done++;
        await pass.offer(e);
        if (done % 1000 === 0) onProgress?.(done);
      }
      await pass.end();
      await this.stepDone();
      await this.checkpoint();
    });
    onProgress?.(done);
    return { trained: this.stats.eventsTrained, skipped: pass.noContent, invalid: pass.invalid };
  }

  /**
   * Runs trainer-state changes one at a time: consumer chunks, window timers and shutdown interleave safely. A turn
   * with a `label` is watched (LEARN_STALL_TIMEOUT_MS) from when it starts; a whole pretraining pass is not.
   */
  private serial<T>(f: () => Promise<T>, label?: string): Promise<T> {
    const p = this.queue.then(() => (label === undefined ? f() : this.watch.track(label, f(), { enclosing: true })));
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async handle(records: Array<SourceRecord<UserEvent>>): Promise<Rejection[]> {
    if (this.broken) throw this.broken;
    if (this.stopping) return [];
    for (const r of records) {
      // Rejected records are dead-lettered by the trainer, not the runner: a window that fills later in this chunk
      // checkpoints and commits their offsets, so their letters are written before it (trainWindow writes them first).
      const intake = this.intake.offer(r);
      if (intake === 'duplicate') continue;
      if (intake === 'windowed') this.noteAge(r.timestamp);
      this.stats.consumed++;
      // Cut as soon as the window is full (a chunk may hold many windows' worth of events), or grow it while a step runs.
      if (this.intake.windowFull) await this.cutWindow();
    }
    this.announceArrivals();
    await this.writeLetters();
    return [];
  }

  private noteAge(recordTimestamp: string): void {
    const untrusted = this.windowAge.untrustedCount;
    this.windowAge.note(recordTimestamp, Date.now());
    if (untrusted === 0 && this.windowAge.untrustedCount > 0) {
      this.l.warn(
        { recordTimestamp, topic: this.cfg.topicUserEvents },
        'an event record is stamped ahead of its arrival by more than LEARN_REHEARSAL_MAX_DELAY_MS: its window counts as behind (no rehearsal); set message.timestamp.type=LogAppendTime on the topic or fix the producer clock',
      );
    }
  }

  /** Writes the pending dead letters (acknowledged by the broker) before anything may commit past them. */
  private async writeLetters(): Promise<void> {
    const letters = this.intake.takeLetters();
    if (letters.length === 0) return;
    try {
      await this.watch.track('dead-letter write', this.dlq!.write(letters));
    } catch (err) {
      this.intake.returnLetters(letters);
      throw err;
    }
  }

  /**
   * Trains the open window now, whatever its size (the replay calls it once the stream has been consumed, since
   * its windows are cut by size only).
   */
  flush(): Promise<void> {
    return this.serial(async () => {
      if (this.intake.windowSize > 0) await this.trainWindow();
      await this.stepDone();
      this.stats.waiting = this.intake.waitingCount;
    });
  }

  /** Window timer, waiting-event release and the time-based checkpoint. */
  private async tick(): Promise<void> {
    if (this.stopping) return;
    const arrived = this.content.takeArrived();
    // A periodic sweep as well as the arrival notices: an event must never wait for content that is already here.
    if (this.intake.waitingCount > 0 && Date.now() - this.lastSweepAt >= WAITING_SWEEP_MS) {
      this.lastSweepAt = Date.now();
      for (const item of this.intake.waitingItems()) if (this.content.has(item)) arrived.add(item);
    }
    // Released events are cut into windows like consumed ones: at full replay speed the encoder lags and hundreds
    // of waiting events are released at once (one huge window otherwise).
    for (const _ of this.intake.release(arrived)) if (this.intake.windowFull) await this.cutWindow();
    this.announceArrivals();
    // Time passes without adds: events that waited too long go to the DLQ now (a failed write keeps them for the next
    // try, and always before the next checkpoint, which commits past them).
    if (this.intake.expireWaiting() > 0) await this.writeLetters();
    m.eventsWaiting.set(this.intake.waitingCount);
    if (this.intake.windowDue) {
      await this.cutWindow();
    } else if (!this.stepping && !this.takenCheckpoint && this.cadence.dueByTime()) {
      // Not while a step runs in the training thread (the checkpoint would wait for it), nor while one taken at a
      // window's end waits for its follow-up: that one checkpoints.
      await this.checkpoint();
    }
  }

  private checkpointDue(): boolean {
    return this.cadence.due();
  }

  /**
   * Cuts the open window and trains it, unless a step still runs in the training thread: then the window keeps
   * growing, and only a window at its growth bound waits for the step (consumption waits with it).
   */
  private async cutWindow(): Promise<void> {
    if (this.stepping && !this.intake.windowAtGrowthBound) return;
    await this.trainWindow();
  }

  /** Waits until no window is stepping (its bookkeeping done, or the trainer failed). */
  private async stepDone(): Promise<void> {
    while (this.stepping) await this.stepping;
  }

  /**
   * After a step in the thread: the checkpoint it made due (taken as the step finished, whether or not the next
   * window is stepping by now), then the window that filled (or aged) meanwhile.
   */
  private async afterStep(): Promise<void> {
    const taken = this.takenCheckpoint;
    this.takenCheckpoint = undefined;
    if (this.stopping || this.broken) return;
    if (taken) await this.checkpoint(taken);
    if (!this.stopping && this.intake.windowDue) await this.cutWindow();
  }

  /**
   * Stops training for good: a collaborator failed (e.g. a vector write) and the in-memory state may run ahead of what
   * was published, so nothing more is checkpointed; the role exits and a restart resumes from the last checkpoint.
   */
  fail(err: Error): void {
    if (this.broken) return;
    this.broken = err;
    this.l.fatal({ err }, 'trainer failed: stopping without a checkpoint (a restart resumes from the last one)');
    this.reportFailure(err);
  }

  private async trainWindow(): Promise<void> {
    if (this.broken) throw this.broken;
    // One window steps at a time: its successor's examples and scores must see its weights.
    await this.stepDone();
    if (this.broken) throw this.broken;
    // A window is seconds of synchronous work, and a chunk or a release from waiting can hold several: let timers
    // and I/O (the consumers' heartbeats) run between windows, or the group evicts this process's members.
    await new Promise<void>((r) => setImmediate(r));
    // A DLQ that refuses a send fails the chunk (read again later), not the role: nothing is trained yet.
    await this.writeLetters();
    try {
      await this.trainWindowUnsafe();
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      throw this.broken;
    }
  }

  private async trainWindowUnsafe(): Promise<void> {
    // A window past the normal cut grew while the step before it ran: the trainer is behind, so it does not rehearse,
    // and it does not join the rehearsal buffer either (the first small window after a burst would rehearse grown ones).
    const grown = this.intake.windowSize > this.cfg.windowMaxEvents || this.intake.windowUsers > this.cfg.batchUsers;
    const events = this.intake.takeWindow();
    if (events.size === 0) return;
    const cutAt = performance.now();
    const stop = m.trainStepSeconds.startTimer();
    const model = this.model;
    const w: WindowExamples = { events, examples: model.examplesOf(events) };
    this.emit('windowReady', w);
    const delayMs = this.windowAge.take(Date.now());
    const rehearse = !grown && (this.collaborators.rehearsal?.allowed(delayMs) ?? true);
    if (!rehearse) {
      this.stats.rehearsalSkipped++;
      m.rehearsalSkipped.inc();
    }
    // Everything consumed so far is now trained (once this window's steps are done) or waiting.
    const offsets = this.intake.offsets();
    const pool = this.collaborators.negativePool?.(w);
    const skippedBefore = model.skippedSteps;
    const learningAt = performance.now();
    const done = (loss: number): void => {
      this.finishWindow(w, { offsets, loss, skippedBefore, cutAt, learningAt });
      stop();
    };
    if (!this.cfg.trainThread) {
      done(model.learnWindow(w, pool, rehearse, !grown));
      if (this.checkpointDue()) await this.checkpoint();
      return;
    }
    // The steps run in the training thread: this returns at once, and the consumer goes on filling the next window.
    const stepping: Promise<void> = this.watch
      .track('training step', model.learnWindowOffLoop(w, pool, rehearse, !grown))
      .then(done)
      .catch((err: unknown) => this.fail(err instanceof Error ? err : new Error(String(err))))
      .finally(() => {
        if (this.stepping === stepping) this.stepping = undefined;
      });
    this.stepping = stepping;
    void stepping.then(() => this.serial(() => this.afterStep(), 'after-step checkpoint')).catch((err: unknown) => this.l.error({ err }, 'after-step work failed'));
  }

  /** A window's steps are done and its weights in use: its events count as trained, and listeners hear of it. */
  private finishWindow(w: WindowExamples, o: { offsets: PartitionOffsets; loss: number; skippedBefore: number; cutAt: number; learningAt: number }): void {
    const { offsets, loss } = o;
    const model = this.model;
    if (model.skippedSteps > o.skippedBefore) {
      m.trainStepsSkipped.inc(model.skippedSteps - o.skippedBefore);
      this.l.error({ skipped: model.skippedSteps - o.skippedBefore, step: model.step }, 'non-finite loss or gradients: optimizer steps skipped (weights unchanged)');
    }
    this.stats.trainSeconds += (performance.now() - o.learningAt) / 1000;
    let n = 0;
    for (const list of w.events.values()) {
      for (const e of list) this.digest = addToDigest(this.digest, e.event_id);
      n += list.length;
    }
    this.trained = offsets;
    this.stats.batches++;
    this.stats.eventsTrained += n;
    this.stats.step = model.step;
    if (Number.isFinite(loss)) this.stats.lastLoss = loss;
    this.stats.digest = this.digest.toString(16);
    this.stats.waiting = this.intake.waitingCount;
    this.stats.users = model.users;
    this.stats.items = this.content.size;
    this.stats.lastWindowEvents = n;
    this.stats.lastStepMs = performance.now() - o.cutAt;
    m.eventsTrained.inc(n);
    m.windowEvents.observe(n);
    m.trainSteps.inc(this.cfg.stepsPerBatch);
    if (loss > 0 && Number.isFinite(loss)) m.trainLoss.set(loss);
    m.historyUsers.set(model.users);
    this.emit('windowTrained', { ...w, loss });
    this.cadence.windowTrained();
    // In the thread's case the next window may start stepping before the follow-up runs: take the checkpoint now.
    if (this.cfg.trainThread && this.checkpointDue()) this.takenCheckpoint = this.takeCheckpoint();
  }

  /**
   * The checkpoint's content as of now, taken in one turn of the event loop: the position, the model's state and the
   * thread's optimizer (asked for now: it answers after the steps asked for before, and before any asked for later).
   * Taken when no window is stepping (between a window's bookkeeping and the next cut), it is consistent.
   * `pinHistories`: the histories are shared with the writing thread, not copied (see OnlineModel.state): only for a
   * checkpoint written before anything trains again, which must then unpin them.
   */
  private takeCheckpoint(o: { pinHistories?: boolean } = {}): TakenCheckpoint {
    const trained = this.trained;
    const offsets: TrainerCheckpointState['offsets'] = {};
    for (const [t, p] of trained) offsets[t] = Object.fromEntries([...p].map(([part, o]) => [String(part), o]));
    const state = this.model.stateNow(o);
    // Handled where it is awaited; a checkpoint postponed by its gate never awaits it.
    state.catch(() => undefined);
    return {
      trained,
      mark: this.cadence.mark(),
      state,
      position: {
        step: this.model.step,
        batches: this.stats.batches,
        eventsTrained: this.stats.eventsTrained,
        digest: this.digest.toString(16),
        offsets,
        // Events released into the open window are not trained yet: they wait again after a restart.
        waiting: this.intake.waitingSnapshot(trained),
        contentDeadLettered: { [topicsFrom(this.cfg).itemContent]: this.contentLetterMarks() },
      },
    };
  }

  /**
   * Writes the checkpoint, then commits the offsets it contains: `taken` (see takeCheckpoint), or taken once no window
   * is stepping.
   */
  private async checkpoint(taken?: TakenCheckpoint): Promise<void> {
    if (this.broken) return;
    // One written since (the window timer's, or a later window's) covers it: writing it would go back.
    if (taken && this.cadence.superseded(taken.mark)) return;
    try {
      await this.writeLetters();
    } catch (err) {
      // The letters stay pending and a checkpoint would commit past them: postponed, like a closed gate.
      this.l.warn({ error: err instanceof Error ? err.message : String(err) }, 'checkpoint postponed: dead letters not written');
      return;
    }
    if (this.collaborators.lease && !this.collaborators.lease.held()) {
      this.l.warn('checkpoint postponed: the pipeline lease is not confirmed (redis away, or taken over)');
      return;
    }
    if (this.collaborators.publisher && !(await this.watch.track('checkpoint: vector gate', this.collaborators.publisher.beforeCheckpoint()))) {
      this.l.warn('checkpoint postponed by its gate');
      return;
    }
    if (this.broken || (this.collaborators.lease && !this.collaborators.lease.held())) return;
    // Taken at a window's end (LEARN_TRAIN_THREAD), the histories were copied then: windows may train meanwhile. Taken
    // here, they are shared with the writing thread: nothing trains until the file is written (all of it runs in the
    // trainer's serial turn, and a window stepping in the thread has its events in the histories already, so the
    // checkpoint waits for its weights first).
    const pinned = !taken;
    let seq: number;
    try {
      if (!taken) {
        await this.stepDone();
        if (this.broken) return;
        taken = this.takeCheckpoint({ pinHistories: true });
      }
      const { state, arrays } = await this.watch.track('checkpoint: model state', taken.state);
      if (this.broken || (this.collaborators.lease && !this.collaborators.lease.held())) return;
      // The state's other typed arrays (ids, recency order) are fresh copies: they move to the thread.
      seq = await this.watch.track('checkpoint: file write', this.store.write({ state: { ...state, ...taken.position }, arrays }, { handOver: true }));
    } finally {
      if (pinned) this.model.unpinHistories();
    }
    const { trained } = taken;
    // Windows finished since it was taken stay to be checkpointed.
    this.cadence.written(taken.mark);
    this.checkpointedContentLetters = JSON.stringify(taken.position.contentDeadLettered?.[topicsFrom(this.cfg).itemContent] ?? {});
    this.stats.checkpointSeq = seq;
    m.checkpointsWritten.inc();
    try {
      await this.watch.track('checkpoint: offset commit', this.runner?.commit(trained) ?? Promise.resolve());
    } catch (err) {
      // The checkpoint on disk holds these offsets and wins over the group's on restart, so a failed commit (broker
      // away, group rebalancing) loses nothing: the next checkpoint commits further on. Not a training failure.
      this.l.warn({ seq, error: err instanceof Error ? err.message : String(err) }, 'checkpoint written; offset commit failed (retried with the next checkpoint)');
      return;
    }
    this.l.info({ seq, step: this.model.step, eventsTrained: this.stats.eventsTrained, users: this.model.users }, 'checkpoint written, offsets committed');
  }

  /** The content follower's dead-letter marks, as the checkpoint holds them (partition -> offset). */
  private contentLetterMarks(): Record<string, string> {
    const marks = [...(this.follower?.deadLetteredThrough() ?? [])].sort(([a], [b]) => a - b);
    return Object.fromEntries(marks.map(([p, o]) => [String(p), o.toString()]));
  }

  private restore(s: TrainerCheckpointState, arrays: NamedArrays, seq: number): void {
    this.onlineModel = OnlineModel.restore(this.cfg, this.content, s, arrays);
    this.digest = BigInt(`0x${s.digest}`);
    const offsets: PartitionOffsets = new Map(Object.entries(s.offsets).map(([t, parts]) => [t, new Map(Object.entries(parts).map(([k, v]) => [Number(k), v]))]));
    this.intake.restore(offsets, s.waiting);
    this.trained = this.intake.offsets();
    Object.assign(this.stats, { step: s.step, batches: s.batches, eventsTrained: s.eventsTrained, digest: s.digest, checkpointSeq: seq, waiting: this.intake.waitingCount, users: this.onlineModel.users });
    this.l.info({ seq, step: s.step, eventsTrained: s.eventsTrained }, 'resumed from checkpoint');
  }

  /** Trains what the open window holds, writes a final checkpoint, commits, and disconnects. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    const lastTurn = this.serial(async () => {
      this.stopping = true;
      await this.stepDone();
      if (this.broken) return;
      if (this.intake.windowSize > 0) await this.trainWindow();
      await this.stepDone();
      // Content records dead-lettered since the last checkpoint are not dead-lettered again by the next start.
      const lettersMoved = this.follower !== undefined && JSON.stringify(this.contentLetterMarks()) !== this.checkpointedContentLetters;
      if (this.onlineModel && (this.cadence.sinceWritten > 0 || lettersMoved)) await this.checkpoint();
    }, 'stop');
    void lastTurn.catch(() => undefined);
    // After a failure this turn (behind the one that failed) is waited for a little only: a failed trainer writes
    // nothing more, and a stalled turn never ends.
    const settledOrBounded = () => Promise.race([lastTurn.catch(() => undefined), new Promise<void>((r) => setTimeout(r, STOP_AFTER_FAILURE_WAIT_MS).unref())]);
    await Promise.race([lastTurn, this.failure.then(settledOrBounded)]);
    this.watch.close();
    await this.runner?.stop();
    await this.listingsFollower?.stop();
    await this.follower?.stop();
    await this.producer?.disconnect();
    await this.onlineModel?.close({ abandon: this.broken !== undefined });
    this.lock?.release(); // issue 11 §2.10
    this.l.info(this.stats, 'trainer stopped');
  }
}
