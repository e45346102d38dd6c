// Test-then-train scoring of every method on exactly the same events: it runs inside the trainer's beforeTrain
// hook, so each window is ranked by every method before any of them learns from it.
import type { UserEvent } from '../codec/index.js';
import type { ItemRef, UserExample } from '../model/index.js';
import { log } from '../ops/logger.js';
import type { TrainedWindow, Trainer } from '../trainer/trainer.js';
import { IdSequenceLearner } from './id-learner.js';
import { RankingMetrics, type MetricsReport, type WindowSpec } from './metrics-accumulator.js';
import { rankOf } from './metrics.js';
import { DecayedPopularity } from './popularity.js';
import { normalisedMean, scoreRows, stackRows } from './scoring.js';

export const METHODS = ['learn', 'sasrec', 'content', 'popularity'] as const;
export type MethodName = (typeof METHODS)[number];

export const METHOD_LABELS: Record<MethodName, string> = {
  learn: 'LEARN (PAL adapter on the frozen LM)',
  sasrec: 'SASRec-like (trainable item IDs)',
  content: 'Frozen content, no adapter (variant c)',
  popularity: 'Popularity (recency-decayed)',
};

/**
 * What a method does for a user with no history yet (no user vector): every history-based method ranks such an
 * event by the popularity scores of the same moment. Counted per method in `fallbackEvents`.
 */
export const COLD_USER_FALLBACK = 'popularity';

export function parseMethods(spec: string): MethodName[] {
  const names = spec.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const bad = names.filter((n) => !(METHODS as readonly string[]).includes(n));
  if (bad.length > 0 || names.length === 0) throw new Error(`--methods: expected a comma-separated subset of ${METHODS.join(',')}, got "${spec}"`);
  return [...new Set(names)] as MethodName[];
}

export interface EvaluatorOptions {
  methods: readonly MethodName[];
  ks: readonly number[];
  window: WindowSpec;
  coldThreshold: number;
  /** Popularity half-life in event time. */
  halfLifeMs: number;
  /** Rows of the ID model's embedding table: the catalogue size of the replayed data set. */
  idCapacity: number;
  seed: number;
}

export interface LossPoint {
  eventsTrained: number;
  learn: number;
  sasrec?: number;
}

export class ReplayEvaluator {
  readonly methods: readonly MethodName[];
  readonly metrics = new Map<MethodName, RankingMetrics>();
  /** Events a method ranked by the cold-user fallback. */
  readonly fallbackEvents: Record<MethodName, number> = { learn: 0, sasrec: 0, content: 0, popularity: 0 };
  readonly lossCurve: LossPoint[] = [];
  windows = 0;
  scoreSeconds = 0;
  idLearner: IdSequenceLearner | undefined;
  private readonly popularity: DecayedPopularity;
  private readonly seen = new Map<string, Set<string>>();
  private readonly itemCounts = new Map<string, number>();
  private readonly userCounts = new Map<string, number>();
  private lastSasrecLoss: number | undefined;
  private readonly l = log('replay.evaluator');

  constructor(private readonly opts: EvaluatorOptions) {
    this.methods = [...opts.methods];
    for (const m of this.methods) this.metrics.set(m, new RankingMetrics({ ks: opts.ks, coldThreshold: opts.coldThreshold, window: opts.window }));
    this.popularity = new DecayedPopularity(opts.halfLifeMs);
  }

  get scored(): number {
    return this.metrics.get(this.methods[0] as MethodName)?.events ?? 0;
  }

  /**
   * The trainer's beforeTrain hook: rank every event of the window by every method, then train the ID model.
   * Each event is scored with the user's history up to that event (the history before the window plus the user's
   * earlier events in this window), by the weights from before the window: still test-then-train, and only a
   * user's very first event falls back to popularity.
   */
  beforeTrain = async (w: Omit<TrainedWindow, 'loss'>, t: Trainer): Promise<void> => {
    const started = performance.now();
    const ids = [...t.content.ids()];
    const index = new Map(ids.map((id, i) => [id, i]));
    const events = [...w.events.values()].flat().sort((a, b) => a.ts - b.ts);
    if (events.length === 0) return;
    const now = (events[0] as UserEvent).ts;
    const histories = eventHistories(events, w.examples, (id) => t.content.get(id), t.learner.cfg.maxHistory);
    const popScores = this.popularity.scores(ids, now);
    const scorers = new Map<MethodName, (i: number) => Float32Array | undefined>();
    for (const m of this.methods) if (m !== 'popularity' && ids.length > 0) scorers.set(m, this.scorer(m, t, ids, histories));

    events.forEach((e, i) => {
      const seen = this.seen.get(e.user_id) ?? new Set<string>();
      const excluded = new Set<number>();
      for (const item of seen) {
        const x = index.get(item);
        if (x !== undefined) excluded.add(x);
      }
      const target = index.get(e.item_id);
      const obs = { itemInteractionsBefore: this.itemCounts.get(e.item_id) ?? 0, userEventsBefore: this.userCounts.get(e.user_id) ?? 0, eventTime: e.ts };
      for (const m of this.methods) {
        let scores = scorers.get(m)?.(i);
        if (!scores) {
          scores = popScores;
          if (m !== 'popularity') this.fallbackEvents[m]++;
        }
        const rank = target === undefined ? Number.POSITIVE_INFINITY : rankOf(scores, target, excluded);
        this.metrics.get(m)!.add({ rank, ...obs });
      }
      seen.add(e.item_id);
      this.seen.set(e.user_id, seen);
      this.itemCounts.set(e.item_id, obs.itemInteractionsBefore + 1);
      this.userCounts.set(e.user_id, obs.userEventsBefore + 1);
    });
    for (const e of events) this.popularity.add(e.item_id, e.ts);
    this.scoreSeconds += (performance.now() - started) / 1000;

    // The ID model learns from the window right after scoring, as the trainer does with LEARN.
    if (this.methods.includes('sasrec')) {
      const id = this.sasrec(t);
      const examples = [...w.examples.values()].map((ex: UserExample) => ({ history: ex.history.map((r) => r.itemId), targets: ex.targets.map((r) => r.itemId) }));
      for (let s = 0; s < t.cfg.stepsPerBatch; s++) this.lastSasrecLoss = id.trainStep(examples, t.content);
    }
    this.windows++;
  };

  /** The trainer's afterTrain hook: the loss curve. */
  afterTrain = (w: TrainedWindow, t: Trainer): void => {
    // A window with no user history trains nothing (loss 0): not a point on the curve.
    if (w.loss <= 0) return;
    this.lossCurve.push({ eventsTrained: t.stats.eventsTrained, learn: w.loss, ...(this.lastSasrecLoss !== undefined ? { sasrec: this.lastSasrecLoss } : {}) });
  };

  report(): Record<string, MetricsReport> {
    return Object.fromEntries(this.methods.map((m) => [m, this.metrics.get(m)!.report()]));
  }

  dispose(): void {
    this.idLearner?.dispose();
    this.idLearner = undefined;
  }

  /**
   * One method's scores for event i (absent: no history, the fallback ranks it). The user vectors of every event
   * with a history are computed up front in one batched call; item vectors once per window.
   */
  private scorer(m: Exclude<MethodName, 'popularity'>, t: Trainer, ids: readonly string[], histories: readonly (readonly ItemRef[])[]): (i: number) => Float32Array | undefined {
    const withHistory = histories.flatMap((h, i) => (h.length > 0 ? [i] : []));
    const row = new Map(withHistory.map((i, r) => [i, r]));
    if (withHistory.length === 0) return () => undefined;
    let items: Float32Array;
    let dim: number;
    let users: Float32Array[];
    if (m === 'learn') {
      dim = t.learner.cfg.outDim;
      items = stackRows(t.learner.itemVectors(ids.map((id) => t.content.get(id) as Float32Array)), dim);
      users = t.learner.userVectors(withHistory.map((i) => (histories[i] as ItemRef[]).map((r) => r.content)));
    } else if (m === 'content') {
      dim = t.learner.cfg.contentDim;
      items = stackRows(ids.map((id) => t.content.get(id) as Float32Array), dim);
      users = withHistory.map((i) => normalisedMean((histories[i] as ItemRef[]).map((r) => r.content), dim));
    } else {
      const id = this.sasrec(t);
      dim = id.cfg.outDim;
      items = id.itemMatrix(ids);
      users = id.userVectors(withHistory.map((i) => (histories[i] as ItemRef[]).map((r) => r.itemId)));
    }
    return (i) => {
      const r = row.get(i);
      return r === undefined ? undefined : scoreRows(items, ids.length, dim, users[r] as Float32Array);
    };
  }

  private sasrec(t: Trainer): IdSequenceLearner {
    if (!this.idLearner) {
      this.idLearner = new IdSequenceLearner(t.learner.cfg, this.opts.idCapacity, this.opts.seed);
      this.l.info({ capacity: this.opts.idCapacity, dim: this.idLearner.cfg.contentDim }, 'SASRec-like ID model created');
    }
    return this.idLearner;
  }
}

/**
 * Per event (in the given order): the user's history up to it, the trainer's history before the window followed by
 * the user's earlier events of this window that have content, cut to the last `maxHistory` items.
 */
export function eventHistories(
  events: readonly UserEvent[],
  examples: ReadonlyMap<string, UserExample>,
  content: (itemId: string) => Float32Array | undefined,
  maxHistory: number,
): ItemRef[][] {
  const running = new Map<string, ItemRef[]>();
  return events.map((e) => {
    let h = running.get(e.user_id);
    if (!h) running.set(e.user_id, (h = [...(examples.get(e.user_id)?.history ?? [])]));
    const out = h.slice(-maxHistory);
    const c = content(e.item_id);
    if (c) h.push({ itemId: e.item_id, content: c });
    return out;
  });
}
