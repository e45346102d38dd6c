// `learn replay`: event-replay evaluation of LEARN and its baselines on a logged stream, test-then-train, by the
// protocol of protocol.ts. Two paths: through the real pipeline (fresh one-partition topics, the data set produced
// through Kafka, the encoder worker and the trainer in-process; the end-to-end check), or in-process (the same model,
// windows and evaluator without a broker; fast experiments). Both give the same ranks for a seed.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Consumer, TopicMessages } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import { produceRecords, type DatasetRecord } from '../data/index.js';
import { EncoderWorker } from '../encoder/worker.js';
import type { OnlineModel, WindowExamples } from '../learner/online-model.js';
import { createKafka } from '../kafka/client.js';
import { ACKS_ALL, createProducer } from '../kafka/producer.js';
import { applyPrefixedTopics, prefixedTopicNames, type TopicNames } from '../kafka/topics.js';
import { log } from '../ops/logger.js';
import { wasmHeapBytes, type NegativePool } from '../model/index.js';
import { Trainer } from '../trainer/trainer.js';
import { COLD_USER_FALLBACK, METHOD_LABELS, type LossPoint, type MethodName, type ReplayEvaluator } from './evaluator.js';
import type { OperatingPoint } from './operating-points.js';
import { replayInProcess, type UpdateMode, type WarmStart } from './in-process.js';
import { TestThenTrain } from './test-then-train.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import type { MetricsReport } from './metrics-accumulator.js';
import { planReplay, type ReplayPlan } from './protocol.js';
import type { ServedItemsSchedule } from './served-items.js';

export { REPLAY_KS } from './protocol.js';
const MIB = 1024 * 1024;

export interface ReplayProgress {
  listings: number;
  events: number;
  listingsProduced: number;
  eventsProduced: number;
  itemsEncoded: number;
  eventsTrained: number;
  deadLetteredEvents: number;
  loss: number;
  /** Events produced but neither trained nor dead-lettered yet. */
  lag: number;
  /** Process resident set and the wasm backend's heap (0 on other backends), MiB. */
  rssMb: number;
  wasmHeapMb: number;
}

export interface ReplayOptions {
  /** 'ml-100k' or a JSON Lines path (see loadDataset). */
  dataset: string;
  /** Multiple of real time; 0 produces as fast as the broker acknowledges (Kafka path only). */
  speed: number;
  /** Replay only the first N events (and every listing before them). */
  limit?: number;
  methods: readonly MethodName[];
  /** In-process (no broker) instead of through the real pipeline. */
  inProcess?: boolean;
  /** The score-time operating point of the metrics (see operating-points.ts; the settings' is operatingPointFrom(cfg)). */
  operatingPoint: OperatingPoint;
  /** Also rank under the whole grid of operating points (the report's trade-off curves). */
  grid?: boolean;
  /** Keep every event's rank per method in the report (`ranks`). */
  keepRanks?: boolean;
  /** In-process only: content vectors to use instead of encoding (see InProcessOptions.content). */
  content?: ReadonlyMap<string, Float32Array>;
  /** In-process only: the warm-start protocol (pretrain on a prefix, evaluate the rest). */
  warmStart?: WarmStart;
  /** In-process only: how weights follow the stream (default online). */
  updates?: UpdateMode;
  /** In-process only: the SASRec-like model in its own thread (default true; the same numbers, two cores). */
  idThread?: boolean;
  /** Run id: names the topics `replay.<run>.*`; default a timestamp and random suffix. */
  run?: string;
  /** Called about every 250 ms. */
  onProgress?: (p: ReplayProgress) => void;
  /** Called once the stream is done, with the model still live. */
  onFinished?: (model: OnlineModel) => void | Promise<void>;
  /** Fails the run when nothing moves for this long (ms). */
  stallTimeoutMs?: number;
  /** Keep the run's topics afterwards (default: deleted). */
  keepTopics?: boolean;
  /** Where the replay and its parts log (default the process's logger, component `replay`). */
  log?: Logger;
}

export interface ReplayReport {
  run: string;
  dataset: string;
  /** Which path ran it. */
  path: 'kafka' | 'in-process';
  /** The protocol: pure streaming from an empty system, or warm start (events before the split pretrain, unscored). */
  protocol: {
    warmStart: WarmStart | null;
    updates: UpdateMode;
    /** LEARN's item vectors: as stale as serving's on this schedule (LEARN_REPLAY_STALE_ITEMS), or null: the newest weights'. */
    staleItems?: ServedItemsSchedule | null;
  };
  startedAt: string;
  wallSeconds: number;
  speed: number;
  limit: number | null;
  topics: TopicNames | null;
  model: { contentDim: number; dim: number; layers: number; heads: number; outDim: number; historyLen: number; batchUsers: number; stepsPerBatch: number; lr: number; backend: string };
  produced: { listings: number; events: number; seconds: number };
  itemsEncoded: number;
  eventsTrained: number;
  deadLettered: { events: number; listings: number };
  trainerSteps: number;
  windows: number;
  methods: MethodName[];
  methodLabels: Record<string, string>;
  /** How users with no history are ranked by the history-based methods. */
  coldUserFallback: string;
  /** The score-time operating point of `metrics` (popularity prior for every history-based method; LEARN's content term). */
  operatingPoint: OperatingPoint;
  /** Every method under every operating point of the grid (absent without --grid). */
  operatingPoints?: ReturnType<ReplayEvaluator['operatingPoints']>;
  fallbackEvents: Partial<Record<MethodName, number>>;
  metrics: Partial<Record<MethodName, MetricsReport>>;
  freshness: {
    /** Listing produced (sent to the broker) -> its ItemContent in the trainer's content table. */
    listingToContent: LatencySummary;
    /** Event produced -> the window holding it trained. */
    eventToTrained: LatencySummary;
  };
  lossCurve: LossPoint[];
  /**
   * Where the wall time went, seconds: encoding the listings, LEARN's and the ID model's training, scoring every method;
   * the rest is Kafka I/O and waiting. With `idThread` the ID model trained in its own thread, beside the rest.
   */
  timings: { encode: number; train: number; idTrain: number; idThread: boolean; score: number; other: number };
  scoreSeconds: number;
  /** Peaks seen by the progress poll (every 250 ms), MiB. */
  memory: { peakRssMb: number; peakWasmHeapMb: number };
  /** Per method, every event's rank in scoring order (only when asked for). */
  ranks?: Partial<Record<MethodName, number[]>>;
  /** Per method and user at the table's operating point: [events, hits@10, NDCG@10 sum, cold-item events, cold-item hits@10]. */
  perUser: Partial<Record<MethodName, Record<string, [number, number, number, number, number]>>>;
}

export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(2).toString('hex')}`;
}

/** The product's topics under `replay.<run>.*` names (learn.item-listings -> replay.<run>.item-listings). */
export function replayTopics(run: string): TopicNames {
  return prefixedTopicNames(`replay.${run}`);
}

/** Runs one replay end to end, on the path the options ask for, and returns its report (see writeReport). */
export async function runReplay(base: Config, opts: ReplayOptions): Promise<ReplayReport> {
  const started = Date.now();
  if (!opts.inProcess && (opts.warmStart || (opts.updates ?? 'online') !== 'online' || opts.content)) {
    throw new Error('--warm-start, --updates and given content are protocols of the in-process replay: add --in-process');
  }
  const run = opts.run ?? newRunId();
  const plan = await planReplay(base, {
    dataset: opts.dataset,
    methods: opts.methods,
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    operatingPoint: opts.operatingPoint,
    ...(opts.grid ? { grid: true } : {}),
    ...(opts.keepRanks ? { keepRanks: true } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  try {
    const outcome = opts.inProcess ? await driveInProcess(plan, opts) : await driveKafka(plan, opts, run);
    return reportOf(plan, opts, run, started, outcome);
  } finally {
    plan.evaluator.dispose();
  }
}

/** What a path hands to the report. */
interface DriveOutcome {
  path: ReplayReport['path'];
  topics: TopicNames | null;
  produced: ReplayReport['produced'];
  itemsEncoded: number;
  eventsTrained: number;
  deadLettered: ReplayReport['deadLettered'];
  steps: number;
  model: ReplayReport['model'];
  freshness: ReplayReport['freshness'];
  seconds: { encode: number; train: number };
  memory: ReplayReport['memory'];
}

function modelSummary(cfg: Config, model: OnlineModel): ReplayReport['model'] {
  const c = model.config;
  return {
    contentDim: c.contentDim,
    dim: c.dim,
    layers: c.layers,
    heads: c.heads,
    outDim: c.outDim,
    historyLen: cfg.historyLen,
    batchUsers: cfg.batchUsers,
    stepsPerBatch: cfg.stepsPerBatch,
    lr: cfg.learningRate,
    backend: tf.getBackend(),
  };
}

async function driveInProcess(plan: ReplayPlan, opts: ReplayOptions): Promise<DriveOutcome> {
  const peak = { peakRssMb: 0, peakWasmHeapMb: 0 };
  let summary: ReplayReport['model'] | undefined;
  const r = await replayInProcess(plan.cfg, plan, {
    ...(opts.content ? { content: opts.content } : {}),
    ...(opts.warmStart ? { warmStart: opts.warmStart } : {}),
    ...(opts.updates ? { updates: opts.updates } : {}),
    ...(opts.idThread !== undefined ? { idThread: opts.idThread } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    progressEvery: 1000,
    onProgress: (p) => {
      const rssMb = Math.round(process.memoryUsage.rss() / MIB);
      const wasmHeapMb = Math.round(wasmHeapBytes() / MIB);
      peak.peakRssMb = Math.max(peak.peakRssMb, rssMb);
      peak.peakWasmHeapMb = Math.max(peak.peakWasmHeapMb, wasmHeapMb);
      opts.onProgress?.({
        listings: plan.listings.length,
        events: plan.events.length,
        listingsProduced: plan.listings.length,
        eventsProduced: p.eventsDone,
        itemsEncoded: plan.listings.length,
        eventsTrained: p.eventsTrained,
        deadLetteredEvents: p.eventsRejected,
        loss: p.loss,
        lag: p.eventsDone - p.eventsTrained - p.eventsRejected,
        rssMb,
        wasmHeapMb,
      });
    },
    onFinished: async (model) => {
      summary = modelSummary(plan.cfg, model);
      await opts.onFinished?.(model);
    },
  });
  const none = new LatencyRecorder().summary();
  return {
    path: 'in-process',
    topics: null,
    produced: { listings: plan.listings.length, events: plan.events.length, seconds: 0 },
    itemsEncoded: r.itemsEncoded,
    eventsTrained: r.eventsTrained,
    deadLettered: { events: r.eventsRejected, listings: r.listingsWithoutContent },
    steps: r.steps,
    model: summary!,
    freshness: { listingToContent: none, eventToTrained: none },
    seconds: r.seconds,
    memory: peak,
  };
}

/**
 * The Kafka path: one-partition replay topics (the stream's order is the consumers' order), every listing produced
 * and encoded first, then the events; the trainer cuts windows by size only and trains the last one when the stream
 * has been consumed.
 */
async function driveKafka(plan: ReplayPlan, opts: ReplayOptions, run: string): Promise<DriveOutcome> {
  const l = opts.log ?? log('replay');
  const topics = replayTopics(run);
  const stateDir = mkdtempSync(join(tmpdir(), `learn-replay-${run}-`));
  const cfg: Config = {
    ...plan.cfg,
    topicItemListings: topics.itemListings,
    topicUserEvents: topics.userEvents,
    topicItemContent: topics.itemContent,
    topicDlq: topics.dlq,
    stateDir,
    // Own consumer groups: a pipeline sharing learn-encoder/learn-trainer with another one rebalances and stalls both.
    groupPrefix: `learn-replay-${run}`,
    // Every listing is encoded before the first event, so an event waits for content only if its item has none.
    maxWaitingMs: Number.MAX_SAFE_INTEGER,
  };
  const kafka = createKafka(cfg, 'replay');
  const admin = kafka.admin();
  await admin.connect();
  // One partition each: the consumers read the stream in its order (the protocol).
  await applyPrefixedTopics(admin, `replay.${run}`, { partitions: 1 });
  l.info({ run, topics }, 'replay topics created');

  const sentAt = new Map<string, number>(); // listing item_id or event id -> when its batch was sent
  const listingLatency = new LatencyRecorder();
  const eventLatency = new LatencyRecorder();
  const dlq = new DeadLetterCounter(cfg, topics, run);
  await dlq.start();
  let encoder: EncoderWorker | undefined;
  let trainer: Trainer | undefined;
  const produced = { listings: 0, events: 0, seconds: 0 };
  const peak = { peakRssMb: 0, peakWasmHeapMb: 0 };
  let encodeSeconds = 0;
  try {
    encoder = await EncoderWorker.start(cfg);
    // Windows are cut by size only (the protocol), and do not grow while a step runs in the training thread; the last
    // one is trained by flush() at the end of the stream.
    const t = new Trainer(cfg, { negativePool: (w) => pool(w) }, { windowMaxAgeMs: 'none', windowGrowth: false, ...(opts.log ? { log: opts.log } : {}) });
    trainer = t;
    // The test-then-train loop, fed by the trainer: every method ranks the window and learns, then the trainer steps.
    let loop: TestThenTrain | undefined;
    t.on('windowReady', (w) => {
      loop ??= new TestThenTrain({ evaluator: plan.evaluator, model: t.model, pool, modelSteppedBy: 'trainer', trainsModel: true });
      if (loop.live(w, true)) throw new Error('the Kafka replay scores every method in the trainer thread');
    });
    t.on('windowTrained', (w) => {
      const now = Date.now();
      for (const list of w.events.values()) {
        for (const e of list) {
          eventLatency.record(now - (sentAt.get(e.event_id) ?? now));
          sentAt.delete(e.event_id);
        }
      }
      plan.evaluator.recordLoss(t.stats.eventsTrained, w.loss);
    });
    t.on('contentArrived', (itemId) => {
      const at = sentAt.get(itemId);
      if (at !== undefined) listingLatency.record(Date.now() - at);
    });
    // The trainer sizes its model from the first content vector, so it becomes ready while the listings are encoded.
    const trainerReady = t.prepare();
    trainerReady.catch(() => undefined);
    const pool = (w: WindowExamples): NegativePool => plan.catalogue.poolFor(w, t.model.content);
    const producer = await createProducer(kafka);
    const produceStarted = Date.now();
    try {
      const send = (kind: 'listing' | 'event') => async (batch: TopicMessages[], ids: readonly string[]): Promise<void> => {
        const at = Date.now();
        for (const id of ids) sentAt.set(id, at);
        await producer.sendBatch({ topicMessages: batch, acks: ACKS_ALL });
        if (kind === 'listing') produced.listings += ids.length;
        else produced.events += ids.length;
      };
      const listingRecords: DatasetRecord[] = plan.listings.map((value) => ({ kind: 'listing', value }));
      const encodeStarted = Date.now();
      await produceTracked(listingRecords, send('listing'), topics, 0);
      await trainerReady;
      const progress = (): ReplayProgress => ({
        listings: plan.listings.length,
        events: plan.events.length,
        listingsProduced: produced.listings,
        eventsProduced: produced.events,
        itemsEncoded: encoder?.stats.encoded ?? 0,
        eventsTrained: t.stats.eventsTrained,
        deadLetteredEvents: dlq.events,
        loss: t.stats.lastLoss,
        lag: produced.events - t.stats.eventsTrained - dlq.events,
        rssMb: Math.round(process.memoryUsage.rss() / MIB),
        wasmHeapMb: Math.round(wasmHeapBytes() / MIB),
      });
      const watch = stallWatch(opts.stallTimeoutMs ?? 180_000, progress, opts.onProgress, peak);
      // Every listing encoded (or dead-lettered) before the first event: the content table is complete and in order.
      await watch.until(() => t.model.content.size + dlq.listings >= plan.listings.length);
      encodeSeconds = (Date.now() - encodeStarted) / 1000;
      await t.consume();
      const eventRecords: DatasetRecord[] = plan.events.map((value) => ({ kind: 'event', value }));
      let producingDone = false;
      const producing = produceTracked(eventRecords, send('event'), topics, opts.speed).then(() => (producingDone = true));
      producing.catch(() => undefined);
      await watch.until(() => producingDone && t.stats.consumed >= produced.events, producing);
      await t.flush();
      // An event whose item never got content (its listing dead-lettered) waits for ever: counted with the rejected
      // ones, as the in-process path counts it.
      await watch.until(() => t.stats.eventsTrained + dlq.events + t.stats.waiting >= produced.events);
      produced.seconds = Math.round((Date.now() - produceStarted) / 100) / 10;
    } finally {
      await producer.disconnect();
    }
    await opts.onFinished?.(t.model);
    const outcome: DriveOutcome = {
      path: 'kafka',
      topics,
      produced,
      itemsEncoded: encoder.stats.encoded,
      eventsTrained: t.stats.eventsTrained,
      deadLettered: { events: dlq.events + t.stats.waiting, listings: dlq.listings },
      steps: t.stats.step,
      model: modelSummary(cfg, t.model),
      freshness: { listingToContent: listingLatency.summary(), eventToTrained: eventLatency.summary() },
      seconds: { encode: encodeSeconds, train: t.stats.trainSeconds },
      memory: peak,
    };
    await t.stop();
    trainer = undefined;
    return outcome;
  } finally {
    await trainer?.stop().catch((err: unknown) => l.warn({ err }, 'trainer stop failed'));
    await encoder?.stop().catch((err: unknown) => l.warn({ err }, 'encoder stop failed'));
    await dlq.stop();
    if (!opts.keepTopics) {
      await admin.deleteTopics({ topics: Object.values(topics) }).catch((err: unknown) => l.warn({ err }, 'could not delete the replay topics'));
    }
    await admin.disconnect();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Produces records in order through `send`, telling it which listing or event ids each batch holds. */
function produceTracked(
  records: readonly DatasetRecord[],
  send: (batch: TopicMessages[], ids: readonly string[]) => Promise<void>,
  topics: TopicNames,
  speed: number,
): Promise<unknown> {
  let next = 0;
  return produceRecords(
    records,
    async (batch) => {
      const n = batch.reduce((s, b) => s + b.messages.length, 0);
      const ids = records.slice(next, next + n).map((r) => (r.kind === 'listing' ? r.value.item_id : r.value.event_id));
      next += n;
      await send(batch, ids);
    },
    { topics: { listings: topics.itemListings, events: topics.userEvents }, speed },
  );
}

/** Waits for conditions while reporting progress every 250 ms; fails when nothing moves for `stallMs`. */
function stallWatch(
  stallMs: number,
  progress: () => ReplayProgress,
  onProgress: ((p: ReplayProgress) => void) | undefined,
  peak: { peakRssMb: number; peakWasmHeapMb: number },
): { until: (done: () => boolean, alongside?: Promise<unknown>) => Promise<void> } {
  let lastMove = Date.now();
  let lastSig = '';
  return {
    until: async (done, alongside) => {
      let failed: unknown;
      alongside?.catch((err: unknown) => (failed = err));
      for (;;) {
        if (failed !== undefined) throw failed;
        const p = progress();
        onProgress?.(p);
        peak.peakRssMb = Math.max(peak.peakRssMb, p.rssMb);
        peak.peakWasmHeapMb = Math.max(peak.peakWasmHeapMb, p.wasmHeapMb);
        if (done()) return;
        const sig = `${p.listingsProduced}/${p.eventsProduced}/${p.itemsEncoded}/${p.eventsTrained}/${p.deadLetteredEvents}`;
        if (sig !== lastSig) {
          lastSig = sig;
          lastMove = Date.now();
        } else if (Date.now() - lastMove > stallMs) {
          throw new Error(`replay stalled for ${stallMs} ms: ${JSON.stringify(p)}`);
        }
        await sleep(250);
      }
    },
  };
}

function reportOf(plan: ReplayPlan, opts: ReplayOptions, run: string, started: number, o: DriveOutcome): ReplayReport {
  const e = plan.evaluator;
  const wallSeconds = Math.round((Date.now() - started) / 100) / 10;
  const r1 = (x: number): number => Math.round(x * 10) / 10;
  const busy = o.seconds.encode + o.seconds.train + (e.methodsThreaded ? 0 : e.methodTrainSeconds) + e.scoreSeconds;
  return {
    run,
    dataset: opts.dataset,
    path: o.path,
    protocol: {
      warmStart: opts.warmStart ?? null,
      updates: opts.updates ?? 'online',
      staleItems: plan.cfg.replayStaleItems ? { versionEverySteps: plan.cfg.versionEverySteps, refreshSteps: plan.cfg.itemRefreshSteps } : null,
    },
    startedAt: new Date(started).toISOString(),
    wallSeconds,
    speed: opts.speed,
    limit: opts.limit ?? null,
    topics: o.topics,
    model: o.model,
    produced: o.produced,
    itemsEncoded: o.itemsEncoded,
    eventsTrained: o.eventsTrained,
    deadLettered: o.deadLettered,
    trainerSteps: o.steps,
    windows: e.windows,
    methods: [...opts.methods],
    methodLabels: { ...METHOD_LABELS },
    coldUserFallback: COLD_USER_FALLBACK,
    operatingPoint: opts.operatingPoint,
    ...(opts.grid ? { operatingPoints: e.operatingPoints() } : {}),
    fallbackEvents: Object.fromEntries(e.fallbackEvents),
    metrics: e.report(),
    freshness: o.freshness,
    lossCurve: thin(e.lossCurve, 400),
    timings: { encode: r1(o.seconds.encode), train: r1(o.seconds.train), idTrain: r1(e.methodTrainSeconds), idThread: e.methodsThreaded, score: r1(e.scoreSeconds), other: r1(Math.max(0, wallSeconds - busy)) },
    scoreSeconds: r1(e.scoreSeconds),
    memory: o.memory,
    ...(opts.keepRanks ? { ranks: Object.fromEntries(e.ranks) } : {}),
    perUser: Object.fromEntries([...e.perUser].map(([m, byUser]) => [m, Object.fromEntries(byUser)])),
  };
}

/** Counts the run's dead letters by source: events (the stop condition) and the rest (listings). */
class DeadLetterCounter {
  events = 0;
  listings = 0;
  private consumer: Consumer | undefined;

  constructor(
    private readonly cfg: Config,
    private readonly topics: TopicNames,
    private readonly run: string,
  ) {}

  async start(): Promise<void> {
    this.consumer = createKafka(this.cfg, 'replay-dlq').consumer({ groupId: `learn-replay-dlq-${this.run}` });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topics.dlq, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const source = message.headers?.['learn.dlq.source-topic'];
        if (String(Array.isArray(source) ? source[0] : source) === this.topics.userEvents) this.events++;
        else this.listings++;
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** At most `max` points, evenly spaced, the last always kept (charts need no more). */
function thin<T>(xs: readonly T[], max: number): T[] {
  if (xs.length <= max) return [...xs];
  const step = xs.length / max;
  const out = Array.from({ length: max }, (_, i) => xs[Math.floor(i * step)] as T);
  out[max - 1] = xs[xs.length - 1] as T;
  return out;
}

