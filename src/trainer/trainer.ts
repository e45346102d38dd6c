import { join, resolve } from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import { defaultCodec, type ItemContent, type UserEvent } from '../codec/index.js';
import type { Config } from '../config/load.js';
import { PROJECT_ROOT } from '../config/paths.js';
import { createKafka } from '../kafka/client.js';
import { ConsumerRunner, type PartitionOffsets, type Rejection, type SourceRecord } from '../kafka/consumer-runner.js';
import { DeadLetterWriter, type DeadLetter } from '../kafka/dead-letter.js';
import { createProducer } from '../kafka/producer.js';
import { TableFollower } from '../kafka/table-follower.js';
import { topicsFrom } from '../kafka/topics.js';
import { buildPalBatch, palConfigFromConfig, PalLearner, selectBackend, type ItemRef, type LearnerState, type NamedArrays, type UserExample } from '../model/index.js';
import { log } from '../ops/logger.js';
import { CheckpointStore } from './checkpoint.js';
import { checkedContent, ContentTable } from './content-table.js';
import { addToDigest } from './digest.js';
import { UserHistories, type HistoriesSnapshot } from './histories.js';
import * as m from './metrics.js';
import { StateDirLock } from './state-lock.js';
import { WaitingEvents, type WaitingEvent } from './waiting-events.js';
import { MicroBatchWindow } from './window.js';

/** How often waiting events are checked against the content table, besides the arrival notices. */
const WAITING_SWEEP_MS = 2_000;

export const TRAINER_GROUP = 'learn-trainer';

/** The trainer's consumer group: `learn-trainer` unless LEARN_GROUP_PREFIX gives this pipeline its own. */
export const trainerGroup = (cfg: Pick<Config, 'groupPrefix'>): string => `${cfg.groupPrefix}-trainer`;

/** The JSON part of a trainer checkpoint (the float arrays travel beside it). */
export interface TrainerCheckpointState {
  step: number;
  batches: number;
  eventsTrained: number;
  /** Hex of the order-free digest of the trained event ids (see digest.ts). */
  digest: string;
  /** Next offset to read per topic and partition: everything before it is trained or waiting. */
  offsets: Record<string, Record<string, string>>;
  histories: HistoriesSnapshot;
  waiting: WaitingEvent[];
  learner: { config: LearnerState['config']; optimizerStep: number };
  rng: number;
}

/** One trained micro-batch, as hooks see it. */
export interface TrainedWindow {
  /** user -> this window's events, event-time order. */
  events: Map<string, UserEvent[]>;
  /** The examples the step trained on (history before the window, targets in it). */
  examples: Map<string, UserExample>;
  loss: number;
}

export interface TrainerHooks {
  /** Test-then-train: called with the window before the model learns from it (the replay scores here). */
  beforeTrain?: (w: Omit<TrainedWindow, 'loss'>, t: Trainer) => void | Promise<void>;
  /** After the step and the history update (the vector publisher writes touched users here). */
  afterTrain?: (w: TrainedWindow, t: Trainer) => void | Promise<void>;
  /** A new, changed or removed (tombstone) item content vector (cold start: its item vector can be served at once). */
  onContent?: (itemId: string, t: Trainer) => void;
  /** Polled by the consumer: true pauses consumption (e.g. the vector store is unreachable). */
  shouldPause?: () => boolean;
  /** Before a checkpoint: false postpones it (and so the offset commit), e.g. while vector writes are unflushed. */
  beforeCheckpoint?: (t: Trainer) => Promise<boolean>;
}

/** Two hook sets as one: both run, in order; a pause or a postponement from either wins. */
function composeHooks(a: TrainerHooks, b: TrainerHooks): TrainerHooks {
  const out: TrainerHooks = { ...a, ...b };
  if (a.beforeTrain && b.beforeTrain) out.beforeTrain = async (w, t) => { await a.beforeTrain!(w, t); await b.beforeTrain!(w, t); };
  if (a.afterTrain && b.afterTrain) out.afterTrain = async (w, t) => { await a.afterTrain!(w, t); await b.afterTrain!(w, t); };
  if (a.onContent && b.onContent) out.onContent = (id, t) => { a.onContent!(id, t); b.onContent!(id, t); };
  if (a.shouldPause && b.shouldPause) out.shouldPause = () => a.shouldPause!() || b.shouldPause!();
  if (a.beforeCheckpoint && b.beforeCheckpoint) out.beforeCheckpoint = async (t) => (await a.beforeCheckpoint!(t)) && (await b.beforeCheckpoint!(t));
  return out;
}

export interface TrainerStats {
  step: number;
  batches: number;
  eventsTrained: number;
  digest: string;
  waiting: number;
  users: number;
  items: number;
  lastLoss: number;
  checkpointSeq: number;
}

/**
 * `learn train`: user events -> micro-batches -> PAL steps (the paper's PAL, trained online).
 * Exactly once across crashes: the checkpoint holds weights, optimizer moments, histories, waiting events and the
 * offsets of everything they contain; Kafka offsets are committed only after that checkpoint is on disk, and on
 * start records below the checkpoint's offsets are skipped as already trained.
 */
export class Trainer {
  learner!: PalLearner;
  readonly content: ContentTable;
  histories: UserHistories;
  private waiting: WaitingEvents;
  private readonly window = new MicroBatchWindow();
  private readonly store: CheckpointStore<TrainerCheckpointState>;
  /** Issue 11 §2.10: one trainer per state directory, held from prepare() to stop(). */
  private lock: StateDirLock | undefined;
  private readonly consumed: PartitionOffsets = new Map();
  /** Offsets of the last trained window: what a checkpoint may claim. */
  private trained: PartitionOffsets = new Map();
  private runner: ConsumerRunner<UserEvent> | undefined;
  private follower: TableFollower<ItemContent> | undefined;
  private kafka: Kafka | undefined;
  private producer: Producer | undefined;
  private dlq: DeadLetterWriter | undefined;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private batchesSinceCheckpoint = 0;
  private lastCheckpointAt = Date.now();
  private digest = 0n;
  private lastSweepAt = Date.now();
  /** Set when a step failed: the in-memory state no longer matches the offsets, so nothing more may be checkpointed. */
  private broken: Error | undefined;
  private reportFailure: (err: Error) => void = () => undefined;
  /** Resolves with the error if training fails; the role then exits and a restart resumes from the last checkpoint. */
  readonly failure = new Promise<Error>((resolve) => {
    this.reportFailure = resolve;
  });
  private readonly l = log('trainer');
  readonly stats: TrainerStats = { step: 0, batches: 0, eventsTrained: 0, digest: '0', waiting: 0, users: 0, items: 0, lastLoss: 0, checkpointSeq: 0 };

  constructor(
    readonly cfg: Config,
    private hooks: TrainerHooks = {},
  ) {
    this.content = new ContentTable();
    this.histories = new UserHistories(cfg.historyLen, cfg.maxUsers);
    this.waiting = new WaitingEvents(cfg.maxWaitingEvents, cfg.maxWaitingMs);
    this.store = new CheckpointStore(join(resolve(PROJECT_ROOT, cfg.stateDir), 'checkpoints'), cfg.checkpointsKept);
  }

  static async start(cfg: Config, hooks: TrainerHooks = {}): Promise<Trainer> {
    const t = new Trainer(cfg, hooks);
    await t.prepare();
    await t.consume();
    return t;
  }

  /** Backend, producer, content table and model (from the newest checkpoint, or fresh): everything but the consumer. */
  async prepare(contentDim?: number): Promise<void> {
    this.lock ??= StateDirLock.acquire(resolve(PROJECT_ROOT, this.cfg.stateDir)); // issue 11 §2.10: fails if another trainer holds it
    const backend = await selectBackend(this.cfg.tfBackend);
    const codec = defaultCodec();
    const topics = topicsFrom(this.cfg);
    this.kafka = createKafka(this.cfg, 'trainer');
    this.producer = await createProducer(this.kafka);
    this.dlq = new DeadLetterWriter(this.producer, trainerGroup(this.cfg), topics.dlq);

    const ckpt = this.store.loadLatest();
    this.follower = new TableFollower<ItemContent>({
      kafka: this.kafka,
      topic: topics.itemContent,
      role: `${trainerGroup(this.cfg)}-content`,
      decode: (v) => checkedContent(codec.decode('ItemContent', v)),
      apply: (itemId, c) => {
        if (this.content.apply(itemId, c) && this.learner) this.hooks.onContent?.(itemId, this);
      },
      dlq: this.dlq,
      maxMessageBytes: this.cfg.maxMessageBytes,
    });
    await this.follower.start();

    if (ckpt) {
      this.restore(ckpt.state, ckpt.arrays, ckpt.seq);
    } else {
      if (contentDim === undefined && this.content.dim === undefined) {
        this.l.info({ topic: topics.itemContent }, 'no checkpoint: waiting for the first item content vector to size the model');
      }
      const dim = this.content.dim ?? contentDim ?? (await this.content.firstDim());
      this.learner = new PalLearner(palConfigFromConfig(this.cfg, dim), this.cfg.seed);
    }
    this.l.info(
      { backend: backend.choice, contentDim: this.learner.cfg.contentDim, checkpoint: ckpt?.seq ?? null, step: this.learner.step, items: this.content.size },
      'trainer ready',
    );
  }

  /** Adds hooks (before `consume`): e.g. the vector publisher, which needs the prepared model. */
  use(hooks: TrainerHooks): void {
    this.hooks = composeHooks(this.hooks, hooks);
  }

  /** User vectors (current weights) of users with a history: the output at the last position. */
  userVectorsFor(users: readonly string[]): Map<string, Float32Array> {
    const ids: string[] = [];
    const histories: Float32Array[][] = [];
    for (const u of users) {
      const h = (this.histories.get(u)?.items ?? []).map((id) => this.content.get(id)).filter((v): v is Float32Array => v !== undefined);
      if (h.length === 0) continue;
      ids.push(u);
      histories.push(h.slice(-this.learner.cfg.maxHistory));
    }
    const vectors = histories.length > 0 ? this.learner.userVectors(histories) : [];
    return new Map(ids.map((id, i) => [id, vectors[i]!]));
  }

  /** Item vectors (current weights): the tower on a one-item sequence. */
  itemVectorsFor(items: readonly string[]): Map<string, Float32Array> {
    const ids = items.filter((id) => this.content.has(id));
    const vectors = ids.length > 0 ? this.learner.itemVectors(ids.map((id) => this.content.get(id)!)) : [];
    return new Map(ids.map((id, i) => [id, vectors[i]!]));
  }

  /** Starts consuming user events (live training). */
  async consume(): Promise<void> {
    const codec = defaultCodec();
    this.runner = new ConsumerRunner<UserEvent>({
      kafka: this.kafka!,
      groupId: trainerGroup(this.cfg),
      topics: [topicsFrom(this.cfg).userEvents],
      decode: (v) => codec.decode('UserEvent', v ?? Buffer.alloc(0)),
      handle: (records) => this.serial(() => this.handle(records)),
      dlq: this.dlq!,
      maxMessageBytes: this.cfg.maxMessageBytes,
      chunkSize: 500,
      commitMode: 'manual',
      sessionTimeoutMs: this.cfg.kafkaSessionTimeoutMs,
      shouldPause: () => this.hooks.shouldPause?.() ?? false,
      // Issue 11 §2.7: read from the restored checkpoint's offsets, even below the group's commit (an older checkpoint).
      startAt: new Map([...this.consumed].map(([t, p]) => [t, new Map(p)])),
    });
    await this.runner.start();
    this.timer = setInterval(() => void this.serial(() => this.tick()).catch((err: unknown) => this.l.error({ err }, 'tick failed')), 100);
  }

  /**
   * Warm start (the paper pre-trains before fine-tuning): trains on a historical log with the live schedule,
   * event-time ordered, then checkpoints. Events with no content vector are counted and skipped.
   */
  async pretrain(events: Iterable<UserEvent>, onProgress?: (done: number) => void): Promise<{ trained: number; skipped: number; invalid: number }> {
    let skipped = 0;
    let invalid = 0;
    let done = 0;
    await this.serial(async () => {
      for (const e of events) {
        done++;
        if (this.invalid(e)) invalid++;
        else if (!this.content.has(e.item_id)) skipped++;
        else {
          this.window.add(e);
          if (this.windowFull()) await this.trainWindow();
        }
        if (done % 1000 === 0) onProgress?.(done);
      }
      if (this.window.size > 0) await this.trainWindow();
      await this.checkpoint();
    });
    onProgress?.(done);
    return { trained: this.stats.eventsTrained, skipped, invalid };
  }

  /** Runs trainer-state changes one at a time: consumer chunks, window timers and shutdown interleave safely. */
  private serial<T>(f: () => Promise<T>): Promise<T> {
    const p = this.queue.then(f);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async handle(records: Array<SourceRecord<UserEvent>>): Promise<Rejection[]> {
    const rejected: Rejection[] = [];
    if (this.broken) throw this.broken;
    if (this.stopping) return rejected;
    const letters: DeadLetter[] = [];
    for (const r of records) {
      // Already consumed: in the checkpoint (offsets are committed after it, so a restart sees these again), or
      // earlier in this process (a rebalance, e.g. after a broker restart, re-fetches from the last commit).
      const next = this.consumed.get(r.topic)?.get(r.partition);
      if (next !== undefined && BigInt(r.offset) < BigInt(next)) continue;
      this.markConsumed(r.topic, r.partition, r.offset);
      const why = this.invalid(r.value);
      if (why) {
        rejected.push({ record: r, reason: why.reason, error: why.error });
        continue;
      }
      if (this.content.has(r.value.item_id)) {
        this.window.add(r.value);
        // Cut as soon as the window is full: a chunk may hold many windows' worth of events.
        if (this.windowFull()) await this.trainWindow();
      } else {
        const pushedOut = this.waiting.add({ event: r.value, topic: r.topic, partition: r.partition, offset: r.offset });
        letters.push(...pushedOut.map((w) => this.noContent(w)));
      }
    }
    await this.dlq!.write(letters);
    return rejected;
  }

  /** Enough users, or enough events (bursty users, or a replay at full speed, would otherwise make huge windows). */
  private windowFull(): boolean {
    return this.window.users >= this.cfg.batchUsers || this.window.size >= this.cfg.windowMaxEvents;
  }

  private invalid(e: UserEvent): { reason: string; error: string } | undefined {
    if (!this.cfg.eventTypes.includes(e.type)) return { reason: 'unknown-event-type', error: `event type "${e.type}" is not one of LEARN_EVENT_TYPES` };
    if (!Number.isFinite(e.ts) || e.ts < 0) return { reason: 'bad-timestamp', error: `negative or non-finite timestamp ${e.ts}` };
    if (e.ts > Date.now() + this.cfg.maxFutureMs) return { reason: 'bad-timestamp', error: `timestamp ${e.ts} is more than LEARN_MAX_FUTURE_MS in the future` };
    if (e.weight !== null && !Number.isFinite(e.weight)) return { reason: 'bad-weight', error: `non-finite weight ${e.weight}` };
    if (e.user_id.length === 0 || e.item_id.length === 0) return { reason: 'missing-id', error: 'empty user_id or item_id' };
    return undefined;
  }

  private noContent(w: WaitingEvent): DeadLetter {
    return {
      topic: w.topic,
      partition: w.partition,
      offset: w.offset,
      key: Buffer.from(w.event.user_id),
      value: defaultCodec().encode('UserEvent', w.event),
      reason: 'no-content',
      error: `item ${w.event.item_id} got no content vector within the waiting bounds`,
    };
  }

  private markConsumed(topic: string, partition: number, offset: string): void {
    let t = this.consumed.get(topic);
    if (!t) this.consumed.set(topic, (t = new Map()));
    t.set(partition, (BigInt(offset) + 1n).toString());
  }

  /** Window timer, waiting-event release and the time-based checkpoint. */
  private async tick(): Promise<void> {
    if (this.stopping) return;
    const arrived = this.content.takeArrived();
    // A periodic sweep as well as the arrival notices: an event must never wait for content that is already here.
    if (this.waiting.size > 0 && Date.now() - this.lastSweepAt >= WAITING_SWEEP_MS) {
      this.lastSweepAt = Date.now();
      for (const item of this.waiting.items()) if (this.content.has(item)) arrived.add(item);
    }
    // Released events are cut into windows like consumed ones: at full replay speed the encoder lags and hundreds
    // of waiting events are released at once (one huge window otherwise).
    if (arrived.size > 0) {
      for (const w of this.waiting.release(arrived)) {
        this.window.add(w.event);
        if (this.windowFull()) await this.trainWindow();
      }
    }
    m.eventsWaiting.set(this.waiting.size);
    if (this.window.size > 0 && (this.windowFull() || this.window.ageMs() >= this.cfg.windowMs)) {
      await this.trainWindow();
    } else if (this.batchesSinceCheckpoint > 0 && Date.now() - this.lastCheckpointAt >= this.cfg.checkpointEveryMs) {
      await this.checkpoint();
    }
  }

  private async trainWindow(): Promise<void> {
    if (this.broken) throw this.broken;
    // A window is seconds of synchronous work, and a chunk or a release from waiting can hold several: let timers
    // and I/O (the consumers' heartbeats) run between windows, or the group evicts this process's members.
    await new Promise<void>((r) => setImmediate(r));
    try {
      await this.trainWindowUnsafe();
    } catch (err) {
      this.broken = err instanceof Error ? err : new Error(String(err));
      this.l.fatal({ err: this.broken }, 'training failed: stopping without a checkpoint (a restart resumes from the last one)');
      this.reportFailure(this.broken);
      throw this.broken;
    }
  }

  private async trainWindowUnsafe(): Promise<void> {
    const events = this.window.take();
    if (events.size === 0) return;
    const stop = m.trainStepSeconds.startTimer();
    const examples = new Map<string, UserExample>();
    for (const [user, list] of events) {
      const history = (this.histories.get(user)?.items ?? []).map((id) => this.ref(id)).filter((r): r is ItemRef => r !== undefined);
      const targets = list.map((e) => this.ref(e.item_id)).filter((r): r is ItemRef => r !== undefined);
      examples.set(user, { history, targets });
    }
    await this.hooks.beforeTrain?.({ events, examples }, this);
    let loss = 0;
    for (let s = 0; s < this.cfg.stepsPerBatch; s++) {
      loss = this.learner.trainStep(buildPalBatch([...examples.values()], this.learner.cfg, this.learner.rng, this.content));
    }
    let n = 0;
    for (const [user, list] of events) {
      this.histories.append(user, list.map((e) => e.item_id), list.at(-1)!.ts);
      for (const e of list) this.digest = addToDigest(this.digest, e.event_id);
      n += list.length;
    }
    // Everything consumed so far is now trained or waiting (and waiting events are checkpointed).
    this.trained = new Map([...this.consumed].map(([t, p]) => [t, new Map(p)]));
    this.stats.batches++;
    this.stats.eventsTrained += n;
    this.stats.step = this.learner.step;
    this.stats.lastLoss = loss;
    this.stats.digest = this.digest.toString(16);
    this.stats.waiting = this.waiting.size;
    this.stats.users = this.histories.size;
    this.stats.items = this.content.size;
    m.eventsTrained.inc(n);
    m.trainSteps.inc(this.cfg.stepsPerBatch);
    if (loss > 0) m.trainLoss.set(loss);
    m.historyUsers.set(this.histories.size);
    stop();
    await this.hooks.afterTrain?.({ events, examples, loss }, this);
    this.batchesSinceCheckpoint++;
    if (this.batchesSinceCheckpoint >= this.cfg.checkpointEveryBatches || Date.now() - this.lastCheckpointAt >= this.cfg.checkpointEveryMs) {
      await this.checkpoint();
    }
  }

  private ref(itemId: string): ItemRef | undefined {
    const content = this.content.get(itemId);
    return content ? { itemId, content } : undefined;
  }

  /** Writes the checkpoint, then commits the offsets it contains. */
  private async checkpoint(): Promise<void> {
    if (this.broken) return;
    if (this.hooks.beforeCheckpoint && !(await this.hooks.beforeCheckpoint(this))) {
      this.l.warn('checkpoint postponed by a hook');
      return;
    }
    const state = this.learner.getState();
    const arrays: NamedArrays = {};
    for (const [k, v] of Object.entries(state.weights)) arrays[`w/${k}`] = v;
    for (const [k, v] of Object.entries(state.optimizer.m)) arrays[`m/${k}`] = v;
    for (const [k, v] of Object.entries(state.optimizer.v)) arrays[`v/${k}`] = v;
    const offsets: TrainerCheckpointState['offsets'] = {};
    for (const [t, p] of this.trained) offsets[t] = Object.fromEntries([...p].map(([part, o]) => [String(part), o]));
    const seq = this.store.write({
      state: {
        step: this.learner.step,
        batches: this.stats.batches,
        eventsTrained: this.stats.eventsTrained,
        digest: this.digest.toString(16),
        offsets,
        histories: this.histories.snapshot(),
        waiting: this.waiting.snapshot(),
        learner: { config: state.config, optimizerStep: state.optimizer.step },
        rng: this.learner.rng.getState(),
      },
      arrays,
    });
    this.batchesSinceCheckpoint = 0;
    this.lastCheckpointAt = Date.now();
    this.stats.checkpointSeq = seq;
    m.checkpointsWritten.inc();
    try {
      await this.runner?.commit(this.trained);
    } catch (err) {
      // The checkpoint on disk holds these offsets and wins over the group's on restart, so a failed commit (broker
      // away, group rebalancing) loses nothing: the next checkpoint commits further on. Not a training failure.
      this.l.warn({ seq, error: err instanceof Error ? err.message : String(err) }, 'checkpoint written; offset commit failed (retried with the next checkpoint)');
      return;
    }
    this.l.info({ seq, step: this.learner.step, eventsTrained: this.stats.eventsTrained, users: this.histories.size }, 'checkpoint written, offsets committed');
  }

  private restore(s: TrainerCheckpointState, arrays: NamedArrays, seq: number): void {
    const pick = (prefix: string): NamedArrays =>
      Object.fromEntries(Object.entries(arrays).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
    // A checkpoint from before a hyperparameter existed takes its value from the settings.
    const config = { ...palConfigFromConfig(this.cfg, s.learner.config.contentDim), ...s.learner.config };
    this.learner = new PalLearner(config, this.cfg.seed);
    this.learner.setState({ config, weights: pick('w/'), optimizer: { step: s.learner.optimizerStep, m: pick('m/'), v: pick('v/') } });
    this.learner.rng.setState(s.rng);
    this.histories = UserHistories.restore(s.histories, this.cfg.historyLen, this.cfg.maxUsers);
    this.waiting = WaitingEvents.restore(s.waiting, this.cfg.maxWaitingEvents, this.cfg.maxWaitingMs);
    this.digest = BigInt(`0x${s.digest}`);
    for (const [t, parts] of Object.entries(s.offsets)) {
      const p = new Map(Object.entries(parts).map(([k, v]) => [Number(k), v]));
      this.consumed.set(t, new Map(p));
    }
    this.trained = new Map([...this.consumed].map(([t, p]) => [t, new Map(p)]));
    Object.assign(this.stats, { step: s.step, batches: s.batches, eventsTrained: s.eventsTrained, digest: s.digest, checkpointSeq: seq, waiting: this.waiting.size, users: this.histories.size });
    this.l.info({ seq, step: s.step, eventsTrained: s.eventsTrained }, 'resumed from checkpoint');
  }

  /** Trains what the open window holds, writes a final checkpoint, commits, and disconnects. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.serial(async () => {
      this.stopping = true;
      if (this.broken) return;
      if (this.window.size > 0) await this.trainWindow();
      if (this.batchesSinceCheckpoint > 0) await this.checkpoint();
    });
    await this.runner?.stop();
    await this.follower?.stop();
    await this.producer?.disconnect();
    this.learner?.dispose();
    this.lock?.release(); // issue 11 §2.10
    this.l.info(this.stats, 'trainer stopped');
  }
}
