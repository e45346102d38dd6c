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

  /** The trainer's beforeTrain hook: rank every event of the window by every method, then train the ID model. */
  beforeTrain = async (w: Omit<TrainedWindow, 'loss'>, t: Trainer): Promise<void> => {
    const started = performance.now();
    const ids = [...t.content.ids()];
    const index = new Map(ids.map((id, i) => [id, i]));
    const events = [...w.events.values()].flat().sort((a, b) => a.ts - b.ts);
    if (events.length === 0) return;
    const now = (events[0] as UserEvent).ts;
    const history = (u: string): readonly ItemRef[] => w.examples.get(u)?.history ?? [];
    const users = [...w.events.keys()].filter((u) => history(u).length > 0);
    const popScores = this.popularity.scores(ids, now);

    // Per method: the user's scores over all candidates (absent: no history, the fallback ranks the event).
    const perUser = new Map<MethodName, Map<string, Float32Array>>();
    for (const m of this.methods) {
      const scores = new Map<string, Float32Array>();
      perUser.set(m, scores);
      if (m === 'popularity' || users.length === 0 || ids.length === 0) continue;
      if (m === 'learn') {
        const dOut = t.learner.cfg.outDim;
        const items = stackRows(t.learner.itemVectors(ids.map((id) => t.content.get(id) as Float32Array)), dOut);
        const userVecs = t.learner.userVectors(users.map((u) => history(u).map((r) => r.content)));
        users.forEach((u, i) => scores.set(u, scoreRows(items, ids.length, dOut, userVecs[i] as Float32Array)));
      } else if (m === 'content') {
        const dc = t.learner.cfg.contentDim;
        const items = stackRows(ids.map((id) => t.content.get(id) as Float32Array), dc);
        for (const u of users) scores.set(u, scoreRows(items, ids.length, dc, normalisedMean(history(u).map((r) => r.content), dc)));
      } else {
        const id = this.sasrec(t);
        const dOut = id.cfg.outDim;
        const items = id.itemMatrix(ids);
        const userVecs = id.userVectors(users.map((u) => history(u).map((r) => r.itemId)));
        users.forEach((u, i) => scores.set(u, scoreRows(items, ids.length, dOut, userVecs[i] as Float32Array)));
      }
    }

    for (const e of events) {
      const seen = this.seen.get(e.user_id) ?? new Set<string>();
      const excluded = new Set<number>();
      for (const item of seen) {
        const i = index.get(item);
        if (i !== undefined) excluded.add(i);
      }
      const target = index.get(e.item_id);
      const obs = { itemInteractionsBefore: this.itemCounts.get(e.item_id) ?? 0, userEventsBefore: this.userCounts.get(e.user_id) ?? 0, eventTime: e.ts };
      for (const m of this.methods) {
        let scores = perUser.get(m)?.get(e.user_id);
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
    }
    for (const e of events) this.popularity.add(e.item_id, e.ts);
    this.scoreSeconds += (performance.now() - started) / 1000;

    // The ID model learns from the window right after scoring, as the trainer does with LEARN.
    if (this.methods.includes('sasrec')) {
      const id = this.sasrec(t);
      const examples = [...w.examples.values()].map((ex: UserExample) => ({ history: ex.history.map((r) => r.itemId), targets: ex.targets.map((r) => r.itemId) }));
      for (let s = 0; s < t.cfg.stepsPerBatch; s++) this.lastSasrecLoss = id.trainStep(examples);
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

  private sasrec(t: Trainer): IdSequenceLearner {
    if (!this.idLearner) {
      this.idLearner = new IdSequenceLearner(t.learner.cfg, this.opts.idCapacity, this.opts.seed);
      this.l.info({ capacity: this.opts.idCapacity, dim: this.idLearner.cfg.contentDim }, 'SASRec-like ID model created');
    }
    return this.idLearner;
  }
}
