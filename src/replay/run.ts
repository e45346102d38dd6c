// `learn replay`: the real pipeline on a logged stream. Fresh topics per run, the data set produced through Kafka,
// the encoder worker and the trainer in-process, and every method scored test-then-train in the trainer's
// beforeTrain hook. Ends when every produced event has been trained or dead-lettered.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Consumer, TopicMessages } from 'kafkajs';
import type { Config } from '../config/load.js';
import { firstEvents, loadDataset, produceRecords, recordTime, type DatasetRecord, type ProduceSummary } from '../data/index.js';
import { EncoderWorker } from '../encoder/worker.js';
import { createKafka } from '../kafka/client.js';
import { ACKS_ALL, createProducer } from '../kafka/producer.js';
import { applyTopics, loadTopicSpecs, type TopicNames } from '../kafka/topics.js';
import { log } from '../ops/logger.js';
import { wasmHeapBytes } from '../model/index.js';
import { Trainer } from '../trainer/trainer.js';
import { COLD_USER_FALLBACK, METHOD_LABELS, ReplayEvaluator, type LossPoint, type MethodName } from './evaluator.js';
import { LatencyRecorder, type LatencySummary } from './latency.js';
import { DAY_MS, type MetricsReport } from './metrics-accumulator.js';

export const REPLAY_KS: readonly number[] = [10, 20, 50];
export const REPLAY_COLD_THRESHOLD = 5;
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
  /** Multiple of real time; 0 produces as fast as the broker acknowledges. */
  speed: number;
  /** Replay only the first N events (and every listing before them). */
  limit?: number;
  methods: readonly MethodName[];
  /** Run id: names the topics `replay.<run>.*`; default a timestamp and random suffix. */
  run?: string;
  /** Called about every 250 ms. */
  onProgress?: (p: ReplayProgress) => void;
  /** Called once the stream is done, before the trainer stops: its learner and content are still live. */
  onFinished?: (t: Trainer, e: ReplayEvaluator) => void | Promise<void>;
  /** Fails the run when nothing moves for this long (ms). */
  stallTimeoutMs?: number;
  /** Keep the run's topics afterwards (default: deleted). */
  keepTopics?: boolean;
}

export interface ReplayReport {
  run: string;
  dataset: string;
  startedAt: string;
  wallSeconds: number;
  speed: number;
  limit: number | null;
  topics: TopicNames;
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
  fallbackEvents: Partial<Record<MethodName, number>>;
  metrics: Partial<Record<MethodName, MetricsReport>>;
  freshness: {
    /** Listing produced (sent to the broker) -> its ItemContent in the trainer's content table. */
    listingToContent: LatencySummary;
    /** Event produced -> the window holding it trained. */
    eventToTrained: LatencySummary;
  };
  lossCurve: LossPoint[];
  scoreSeconds: number;
  /** Peaks seen by the progress poll (every 250 ms), MiB. */
  memory: { peakRssMb: number; peakWasmHeapMb: number };
}

export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(2).toString('hex')}`;
}

/** The product's topic specs under `replay.<run>.*` names (learn.item-listings -> replay.<run>.item-listings). */
export function replayTopics(run: string): TopicNames {
  const name = (base: string): string => `replay.${run}.${base.replace(/^learn\./, '')}`;
  return {
    itemListings: name('learn.item-listings'),
    userEvents: name('learn.user-events'),
    itemContent: name('learn.item-content'),
    dlq: name('learn.dlq'),
  };
}

/** Runs one replay end to end and returns its report (not yet written anywhere: see writeReport). */
export async function runReplay(base: Config, opts: ReplayOptions): Promise<ReplayReport> {
  const l = log('replay');
  const started = Date.now();
  const run = opts.run ?? newRunId();
  const topics = replayTopics(run);
  const stateDir = mkdtempSync(join(tmpdir(), `learn-replay-${run}-`));
  const cfg: Config = {
    ...base,
    topicItemListings: topics.itemListings,
    topicUserEvents: topics.userEvents,
    topicItemContent: topics.itemContent,
    topicDlq: topics.dlq,
    stateDir,
    // Own consumer groups: a pipeline sharing learn-encoder/learn-trainer with another one rebalances and stalls both.
    groupPrefix: `learn-replay-${run}`,
  };
  const kafka = createKafka(cfg, 'replay');
  const admin = kafka.admin();
  await admin.connect();
  const byDefault = new Map<string, string>([
    ['learn.item-listings', topics.itemListings],
    ['learn.user-events', topics.userEvents],
    ['learn.item-content', topics.itemContent],
    ['learn.dlq', topics.dlq],
  ]);
  const specs = loadTopicSpecs().map((s) => ({ ...s, name: byDefault.get(s.name) ?? `replay.${run}.${s.name}` }));
  await applyTopics(admin, specs);
  l.info({ run, topics }, 'replay topics created');

  let records: DatasetRecord[] = await loadDataset(opts.dataset, cfg);
  if (opts.limit !== undefined) records = firstEvents(records, opts.limit);
  // A replay compresses months into minutes: events outrun the encoder by far more event time than live traffic
  // would, so the event-time bound on waiting for content is widened to the data set's span (the count bound stays).
  let [tMin, tMax] = [Infinity, -Infinity];
  for (const r of records) [tMin, tMax] = [Math.min(tMin, recordTime(r)), Math.max(tMax, recordTime(r))];
  if (tMax >= tMin) cfg.maxWaitingMs = Math.max(cfg.maxWaitingMs, Math.ceil(tMax - tMin) + 1);
  const listings = records.filter((r) => r.kind === 'listing').length;
  const events = records.length - listings;

  const evaluator = new ReplayEvaluator({
    methods: opts.methods,
    ks: REPLAY_KS,
    window: { by: 'time', ms: Math.round(cfg.replayWindowDays * DAY_MS) },
    coldThreshold: REPLAY_COLD_THRESHOLD,
    halfLifeMs: cfg.replayHalfLifeDays * DAY_MS,
    idCapacity: Math.max(1, new Set(records.flatMap((r) => (r.kind === 'listing' ? [r.value.item_id] : []))).size),
    seed: cfg.seed,
  });
  const sentAt = new Map<string, number>(); // listing item_id or event id -> when its batch was sent
  const listingLatency = new LatencyRecorder();
  const eventLatency = new LatencyRecorder();

  const dlq = new DeadLetterCounter(cfg, topics, run);
  await dlq.start();
  let encoder: EncoderWorker | undefined;
  let trainer: Trainer | undefined;
  let producedListings = 0;
  let producedEvents = 0;
  let produced: ProduceSummary | undefined;
  try {
    encoder = await EncoderWorker.start(cfg);
    // The trainer sizes its model from the first content vector, so it becomes ready while production runs.
    const trainerReady = Trainer.start(cfg, {
      beforeTrain: evaluator.beforeTrain,
      afterTrain: (w, t) => {
        const now = Date.now();
        for (const list of w.events.values()) {
          for (const e of list) {
            eventLatency.record(now - (sentAt.get(e.event_id) ?? now));
            sentAt.delete(e.event_id);
          }
        }
        evaluator.afterTrain(w, t);
      },
      onContent: (itemId) => {
        const at = sentAt.get(itemId);
        if (at !== undefined) listingLatency.record(Date.now() - at);
      },
    });
    trainerReady.catch(() => undefined);
    const producer = await createProducer(kafka);
    // Records are sent in their order, so each batch is the next N records yielded: stamp them on send.
    const queue: DatasetRecord[] = [];
    function* tap(): Generator<DatasetRecord> {
      for (const r of records) {
        queue.push(r);
        yield r;
      }
    }
    const producing = produceRecords(
      tap(),
      async (batch: TopicMessages[]) => {
        const at = Date.now();
        const n = batch.reduce((s, b) => s + b.messages.length, 0);
        for (const r of queue.splice(0, n)) {
          if (r.kind === 'listing') {
            sentAt.set(r.value.item_id, at);
            producedListings++;
          } else {
            sentAt.set(r.value.event_id, at);
            producedEvents++;
          }
        }
        await producer.sendBatch({ topicMessages: batch, acks: ACKS_ALL });
      },
      { topics: { listings: topics.itemListings, events: topics.userEvents }, speed: opts.speed },
    ).finally(() => producer.disconnect());
    producing.catch(() => undefined);
    trainer = await trainerReady;
    const t = trainer;

    const stallMs = opts.stallTimeoutMs ?? 180_000;
    let lastMove = Date.now();
    let lastSig = '';
    const progress = (): ReplayProgress => ({
      listings,
      events,
      listingsProduced: producedListings,
      eventsProduced: producedEvents,
      itemsEncoded: encoder?.stats.encoded ?? 0,
      eventsTrained: t.stats.eventsTrained,
      deadLetteredEvents: dlq.events,
      loss: t.stats.lastLoss,
      lag: producedEvents - t.stats.eventsTrained - dlq.events,
      rssMb: Math.round(process.memoryUsage.rss() / MIB),
      wasmHeapMb: Math.round(wasmHeapBytes() / MIB),
    });
    const peak = { peakRssMb: 0, peakWasmHeapMb: 0 };
    for (;;) {
      if (produced === undefined) produced = await Promise.race([producing, sleep(250).then(() => undefined)]);
      else await sleep(250);
      const p = progress();
      opts.onProgress?.(p);
      peak.peakRssMb = Math.max(peak.peakRssMb, p.rssMb);
      peak.peakWasmHeapMb = Math.max(peak.peakWasmHeapMb, p.wasmHeapMb);
      if (produced !== undefined && p.eventsTrained + p.deadLetteredEvents >= produced.events) break;
      const sig = `${p.eventsProduced}/${p.itemsEncoded}/${p.eventsTrained}/${p.deadLetteredEvents}`;
      if (sig !== lastSig) {
        lastSig = sig;
        lastMove = Date.now();
      } else if (Date.now() - lastMove > stallMs) {
        throw new Error(`replay stalled for ${stallMs} ms: ${JSON.stringify(p)}`);
      }
    }
    await opts.onFinished?.(t, evaluator);
    const s = t.stats;
    const report: ReplayReport = {
      run,
      dataset: opts.dataset,
      startedAt: new Date(started).toISOString(),
      wallSeconds: 0,
      speed: opts.speed,
      limit: opts.limit ?? null,
      topics,
      model: {
        contentDim: t.learner.cfg.contentDim,
        dim: t.learner.cfg.dim,
        layers: t.learner.cfg.layers,
        heads: t.learner.cfg.heads,
        outDim: t.learner.cfg.outDim,
        historyLen: cfg.historyLen,
        batchUsers: cfg.batchUsers,
        stepsPerBatch: cfg.stepsPerBatch,
        lr: cfg.learningRate,
        backend: tf.getBackend(),
      },
      produced: { listings: produced.listings, events: produced.events, seconds: produced.seconds },
      itemsEncoded: encoder.stats.encoded,
      eventsTrained: s.eventsTrained,
      deadLettered: { events: dlq.events, listings: dlq.listings },
      trainerSteps: s.step,
      windows: evaluator.windows,
      methods: [...opts.methods],
      methodLabels: { ...METHOD_LABELS },
      coldUserFallback: COLD_USER_FALLBACK,
      fallbackEvents: Object.fromEntries(opts.methods.filter((m) => m !== 'popularity').map((m) => [m, evaluator.fallbackEvents[m]])),
      metrics: evaluator.report(),
      freshness: { listingToContent: listingLatency.summary(), eventToTrained: eventLatency.summary() },
      lossCurve: thin(evaluator.lossCurve, 400),
      scoreSeconds: Math.round(evaluator.scoreSeconds * 10) / 10,
      memory: peak,
    };
    await trainer.stop();
    trainer = undefined;
    report.wallSeconds = Math.round((Date.now() - started) / 100) / 10;
    return report;
  } finally {
    await trainer?.stop().catch((err: unknown) => l.warn({ err }, 'trainer stop failed'));
    await encoder?.stop().catch((err: unknown) => l.warn({ err }, 'encoder stop failed'));
    await dlq.stop();
    evaluator.dispose();
    if (!opts.keepTopics) {
      await admin.deleteTopics({ topics: Object.values(topics) }).catch((err: unknown) => l.warn({ err }, 'could not delete the replay topics'));
    }
    await admin.disconnect();
    rmSync(stateDir, { recursive: true, force: true });
  }
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

