// Test-then-train scoring of every method on exactly the same events: the replay calls it with each window before
// any method learns from it (the Kafka path from the trainer's windowReady event, the in-process path directly).
import type { UserEvent } from '../codec/index.js';
import type { OnlineModel, WindowExamples } from '../learner/online-model.js';
import type { BackendChoice, ItemRef, NegativePool, UserExample } from '../model/index.js';
import { log } from '../ops/logger.js';
import { rehearsalDraw, remember } from '../learner/online-model.js';
import { Rng } from '../model/index.js';
import { IdSequenceLearner, type IdExample } from './id-learner.js';
import { IdModelThread } from './id-model-thread.js';
import { RankingMetrics, type MetricsReport, type WindowSpec } from './metrics-accumulator.js';
import { DecayedPopularity, popularityPrior } from '../popularity/index.js';
import { operatingGrid, OperatingPointMetrics, rankAt, type OperatingPoint, type ScoreTerms } from './operating-points.js';
import type { ListedCatalogue } from './protocol.js';
import { normalisedMean, scoreRows, stackRows } from './scoring.js';

export const METHODS = ['learn', 'sasrec', 'content', 'popularity'] as const;
export type MethodName = (typeof METHODS)[number];

/** Training requests the ID model's thread may have queued before the replay waits for it (idBackpressure). */
const MAX_ID_TRAINS_IN_FLIGHT = 4;

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
  /** Optimizer steps per window of the ID model (the trainer's LEARN_STEPS_PER_BATCH: the same budget). */
  stepsPerBatch: number;
  /** The trainer's rehearsal (LEARN_REHEARSAL_WINDOWS / _SAMPLES): the ID model rehearses the same way. */
  rehearsal: { windows: number; samples: number };
  /**
   * The items in listing order: an item is a candidate for an event once listed at or before the event's time.
   * Absent: every item with content is a candidate.
   */
  catalogue?: Pick<ListedCatalogue, 'available' | 'listedAt'>;
  /**
   * The default operating point (see operating-points.ts): the popularity prior weight every history-based method
   * ranks with, and the weight of the frozen content's cosine added to LEARN's scores. Default: neither.
   */
  operatingPoint?: OperatingPoint;
  /** Also rank every event under the whole grid of operating points (the trade-off curves). */
  grid?: boolean;
  /** Keep every event's rank per method (`ranks`), e.g. to compare two replay paths event by event. */
  keepRanks?: boolean;
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
  /** Per method, each scored event's rank in scoring order (only with keepRanks). */
  readonly ranks = new Map<MethodName, number[]>();
  /** Per method and user, at the default operating point: [events, hits@10, NDCG@10 sum, cold-item events, cold-item hits@10] (paired comparisons of two runs). */
  readonly perUser = new Map<MethodName, Map<string, [number, number, number, number, number]>>();
  /** Per history-based method, its metrics under every operating point of the grid (only with grid). */
  readonly gridMetrics = new Map<MethodName, OperatingPointMetrics>();
  windows = 0;
  scoreSeconds = 0;
  /** Seconds the ID model spent learning (in its own thread, if any: then beside the rest, not part of the wall time). */
  idTrainSeconds = 0;
  /** Whether the ID model ran in its own thread (its training time then overlaps the rest). */
  idThreaded = false;
  idLearner: IdSequenceLearner | undefined;
  private readonly popularity: DecayedPopularity;
  private readonly seen = new Map<string, Set<string>>();
  private readonly itemCounts = new Map<string, number>();
  private readonly userCounts = new Map<string, number>();
  /** The ID model's latest loss, or the promise of it while its thread trains. */
  private idLoss: number | Promise<number> | undefined;
  private idThread: IdModelThread | undefined;
  private idFailure: Error | undefined;
  /** The ID model thread's training requests not answered yet, oldest first. */
  private readonly idInFlight: Promise<void>[] = [];
  private readonly idRehearsal: IdExample[][] = [];
  private readonly rehearsalRng: Rng;
  private readonly l = log('replay.evaluator');

  constructor(private readonly opts: EvaluatorOptions) {
    this.methods = [...opts.methods];
    for (const m of this.methods) {
      this.metrics.set(m, new RankingMetrics({ ks: opts.ks, coldThreshold: opts.coldThreshold, window: opts.window }));
      if (opts.keepRanks) this.ranks.set(m, []);
      const kind = m === 'learn' ? 'content' : m === 'popularity' ? 'popularity' : 'history';
      if (opts.grid) this.gridMetrics.set(m, new OperatingPointMetrics(operatingGrid(kind), { ks: opts.ks, coldThreshold: opts.coldThreshold }));
    }
    this.popularity = new DecayedPopularity(opts.halfLifeMs);
    this.rehearsalRng = new Rng(opts.seed ^ 0x3c6ef372);
  }

  get scored(): number {
    return this.metrics.get(this.methods[0] as MethodName)?.events ?? 0;
  }

  /**
   * Ranks every event of the window by every method, then the ID model learns from the window. Each event is scored
   * with the user's history up to that event (the history before the window plus the user's earlier events in this
   * window), by the weights from before the window: test-then-train, and only a user's very first event falls back to
   * popularity. Candidates are the items with content listed at or before the event, minus the user's earlier items.
   */
  scoreWindow(w: WindowExamples, model: OnlineModel, pool: NegativePool = model.content): void {
    if (this.idThread) throw new Error('scoreWindow: the ID model runs in its own thread; use scoreWindowAsync');
    const window = this.openWindow(w, model);
    if (!window) return;
    const scorers = this.ownScorers(window, model);
    const histories = this.idInput(window);
    if (histories) {
      const id = this.sasrec(model);
      scorers.set('sasrec', rowScorer(window.histories, { items: id.itemMatrix(window.ids), users: id.userVectors(histories), dim: id.cfg.outDim }, window.ids.length));
    }
    this.rankWindow(window, model, scorers);
    // The ID model learns from the window right after scoring, as the trainer does with LEARN.
    if (this.learnsOnline) this.trainId(w.examples, model, pool);
  }

  /**
   * scoreWindow with the ID model in its own thread (startIdThread): its vectors are computed there while LEARN's
   * and the frozen content's are computed here, and its training runs on there while this thread goes on. The same
   * calls reach the same model in the same order, so every rank is the one scoreWindow gives.
   */
  async scoreWindowAsync(w: WindowExamples, model: OnlineModel, pool: NegativePool = model.content): Promise<void> {
    const thread = this.idThread;
    if (!thread) return this.scoreWindow(w, model, pool);
    // A failed training step there fails the replay at the next window, as it would in this thread.
    if (this.idFailure) throw this.idFailure;
    const window = this.openWindow(w, model);
    if (!window) return;
    const histories = this.idInput(window);
    const idVectors = histories ? thread.vectors(window.ids, histories) : undefined;
    // Handled here and awaited below: a failure while this thread computes is no unhandled rejection.
    idVectors?.catch(() => undefined);
    const scorers = this.ownScorers(window, model);
    if (idVectors) scorers.set('sasrec', rowScorer(window.histories, await idVectors, window.ids.length));
    this.rankWindow(window, model, scorers);
    if (this.learnsOnline) this.trainId(w.examples, model, pool);
  }

  /**
   * Moves the ID model into its own worker thread (before any window: that model starts fresh there); scoreWindowAsync
   * then uses it. closeIdThread() ends it.
   */
  startIdThread(model: OnlineModel, backend: BackendChoice): void {
    if (this.idLearner || this.idLoss !== undefined) throw new Error('startIdThread: the ID model has already been used in this thread');
    if (!this.methods.includes('sasrec') || this.idThread) return;
    this.idThread = IdModelThread.start({ base: model.config, capacity: this.opts.idCapacity, seed: this.opts.seed, backend });
    this.idThreaded = true;
  }

  /**
   * Waits for the ID model thread's queued training (its losses and time are then in the report) and ends the thread;
   * rethrows its failure. `abandon` (a replay that failed) ends it at once, queued steps and all.
   */
  async closeIdThread(opts: { abandon?: boolean } = {}): Promise<void> {
    const thread = this.idThread;
    if (!thread) return;
    this.idThread = undefined;
    if (opts.abandon) return thread.terminate();
    await Promise.all(this.idInFlight);
    await thread.close();
    if (this.idFailure) throw this.idFailure;
  }

  /**
   * Waits until at most `max` training requests to the ID model's thread are unanswered: the warm start and daily
   * retraining post window after window, and each request holds its examples and the pool's ids until it runs.
   */
  async idBackpressure(max = MAX_ID_TRAINS_IN_FLIGHT): Promise<void> {
    while (this.idInFlight.length > max) await this.idInFlight[0];
    if (this.idFailure) throw this.idFailure;
  }

  /** The window's events in event-time order, its candidates and each event's history; undefined for an empty window. */
  private openWindow(w: WindowExamples, model: OnlineModel): OpenWindow | undefined {
    const started = performance.now();
    const events = [...w.events.values()].flat().sort((a, b) => a.ts - b.ts);
    if (events.length === 0) return undefined;
    const last = (events.at(-1) as UserEvent).ts;
    const catalogue = this.opts.catalogue;
    const ids = catalogue ? catalogue.available(last, model.content) : [...model.content.ids()];
    const histories = eventHistories(events, w.examples, (id) => model.content.get(id), model.config.maxHistory);
    return { started, events, ids, histories };
  }

  /** The scorers of the methods computed on this thread from the model and content (LEARN, frozen content). */
  private ownScorers(window: OpenWindow, model: OnlineModel): Map<MethodName, (i: number) => Float32Array | undefined> {
    const scorers = new Map<MethodName, (i: number) => Float32Array | undefined>();
    for (const m of ['learn', 'content'] as const) if (this.methods.includes(m) && window.ids.length > 0) scorers.set(m, this.scorer(m, model, window.ids, window.histories));
    return scorers;
  }

  /** The ID model's input for the window: the item ids of each event's history, those with one; undefined when it has none to score. */
  private idInput(window: OpenWindow): string[][] | undefined {
    if (!this.methods.includes('sasrec') || window.ids.length === 0) return undefined;
    const histories = window.histories.filter((h) => h.length > 0).map((h) => h.map((r) => r.itemId));
    return histories.length > 0 ? histories : undefined;
  }

  private rankWindow(window: OpenWindow, model: OnlineModel, scorers: Map<MethodName, (i: number) => Float32Array | undefined>): void {
    const { started, events, ids, histories } = window;
    const catalogue = this.opts.catalogue;
    const index = new Map(ids.map((id, i) => [id, i]));
    const now = (events[0] as UserEvent).ts;
    const popScores = this.popularity.scores(ids, now);
    const point = this.opts.operatingPoint ?? { beta: 0, contentWeight: 0 };
    const prior = popularityPrior(popScores);
    // LEARN's content term needs the frozen content's scores, whether or not that method is replayed.
    const wantsBoost = this.methods.includes('learn') && (point.contentWeight !== 0 || point.coldSlotsBy === 'cold-score' || this.gridMetrics.has('learn'));
    const contentScores = wantsBoost && ids.length > 0 ? (scorers.get('content') ?? this.scorer('content', model, ids, histories)) : undefined;
    // Items listed after an event (but within its window) are not its candidates yet.
    const notYetListed = catalogue ? ids.flatMap((id, x) => ((catalogue.listedAt(id) ?? -Infinity) > now ? [[x, catalogue.listedAt(id) as number] as const] : [])) : [];
    // Each candidate's interactions strictly before the event being scored (the cold gate's n), kept up to date below.
    const interactions = Float32Array.from(ids, (id) => this.itemCounts.get(id) ?? 0);
    const plain: ScoreTerms = { prior: new Float32Array(ids.length), interactions };

    events.forEach((e, i) => {
      const seen = this.seen.get(e.user_id) ?? new Set<string>();
      const excluded = new Uint8Array(ids.length);
      for (const item of seen) {
        const x = index.get(item);
        if (x !== undefined) excluded[x] = 1;
      }
      for (const [x, at] of notYetListed) if (at > e.ts) excluded[x] = 1;
      const target = index.get(e.item_id);
      const obs = { itemInteractionsBefore: this.itemCounts.get(e.item_id) ?? 0, userEventsBefore: this.userCounts.get(e.user_id) ?? 0, eventTime: e.ts };
      const cs = contentScores?.(i);
      const withContent: ScoreTerms = cs ? { prior, content: cs, interactions } : { prior, interactions };
      for (const m of this.methods) {
        const own = scorers.get(m)?.(i);
        if (!own && m !== 'popularity') this.fallbackEvents[m]++;
        // The popularity method, and a user's first event under every method, rank by popularity alone.
        const base = own ?? popScores;
        const terms = !own ? plain : m === 'learn' ? withContent : { prior, interactions };
        const rankAtPoint = (p: OperatingPoint): number => (target === undefined ? Number.POSITIVE_INFINITY : rankAt(base, terms, p, target, excluded));
        const slots = point.coldSlots ? { coldSlots: point.coldSlots, coldSlotsBelow: point.coldSlotsBelow ?? 1, coldSlotsBy: point.coldSlotsBy ?? 'score' } : {};
        const rank = rankAtPoint(m === 'learn' ? point : { beta: point.beta, contentWeight: 0, ...slots });
        this.metrics.get(m)!.add({ rank, ...obs });
        this.ranks.get(m)?.push(rank);
        this.addPerUser(m, e.user_id, rank, obs.itemInteractionsBefore < this.opts.coldThreshold);
        const grid = this.gridMetrics.get(m);
        // Without the method's own scores (popularity, a user's first event) a point's terms do not apply; its slots do.
        const fallbackAt = (p: OperatingPoint): number =>
          p.coldSlots ? rankAtPoint({ beta: 0, contentWeight: 0, coldSlots: p.coldSlots, coldSlotsBelow: p.coldSlotsBelow ?? 1, coldSlotsBy: p.coldSlotsBy ?? 'score' }) : rank;
        grid?.points.forEach((p, k) => grid.add(k, { rank: own ? rankAtPoint(p) : fallbackAt(p), ...obs }));
      }
      this.observeEvent(e);
      if (target !== undefined) interactions[target] = (interactions[target] as number) + 1;
    });
    for (const e of events) this.popularity.add(e.item_id, e.ts);
    this.scoreSeconds += (performance.now() - started) / 1000;
    this.windows++;
  }

  /** Whether scoreWindow trains the ID model (false while a replay freezes or delays every method's updates). */
  learnsOnline = true;

  /** A window seen without scoring (the warm-start prefix): popularity, the users' seen items, the interaction counts. */
  observe(events: ReadonlyMap<string, readonly UserEvent[]>): void {
    const sorted = [...events.values()].flat().sort((a, b) => a.ts - b.ts);
    for (const e of sorted) {
      this.observeEvent(e);
      this.popularity.add(e.item_id, e.ts);
    }
  }

  /** The ID model's optimizer steps on a window's examples (the trainer's schedule and budget; `rehearse` as LEARN's). */
  trainId(examples: ReadonlyMap<string, UserExample>, model: OnlineModel, pool: NegativePool = model.content, rehearse = true): void {
    if (!this.methods.includes('sasrec')) return;
    if (this.idFailure) throw this.idFailure;
    const byId = [...examples.values()].map((ex) => ({ history: ex.history.map((r) => r.itemId), targets: ex.targets.map((r) => r.itemId) }));
    const { windows, samples } = this.opts.rehearsal;
    const steps = Array.from({ length: this.opts.stepsPerBatch }, () => [...byId, ...(rehearse ? rehearsalDraw(this.idRehearsal, samples, (n) => this.rehearsalRng.int(n)) : [])]);
    remember(this.idRehearsal, byId, windows);
    if (this.idThread) {
      // Queued behind the thread's earlier requests, not awaited: the next window's scoring waits for it there.
      const poolIds = Array.from({ length: pool.size }, (_, i) => pool.at(i).itemId);
      const trained = this.idThread.train(steps, poolIds).then((r) => {
        this.idTrainSeconds += r.seconds;
        return r.loss;
      });
      this.idLoss = trained;
      const settled = trained
        .then(
          () => undefined,
          (err: unknown) => {
            this.idFailure ??= err instanceof Error ? err : new Error(String(err));
          },
        )
        .finally(() => this.idInFlight.splice(this.idInFlight.indexOf(settled), 1));
      this.idInFlight.push(settled);
      return;
    }
    const started = performance.now();
    const id = this.sasrec(model);
    for (const step of steps) this.idLoss = id.trainStep(step, pool);
    this.idTrainSeconds += (performance.now() - started) / 1000;
  }

  private addPerUser(m: MethodName, user: string, rank: number, cold: boolean): void {
    let byUser = this.perUser.get(m);
    if (!byUser) this.perUser.set(m, (byUser = new Map()));
    const row = byUser.get(user) ?? [0, 0, 0, 0, 0];
    const hit = rank <= 10 ? 1 : 0;
    row[0]++;
    row[1] += hit;
    row[2] += hit / Math.log2(rank + 1);
    if (cold) {
      row[3]++;
      row[4] += hit;
    }
    byUser.set(user, row);
  }

  private observeEvent(e: UserEvent): void {
    const seen = this.seen.get(e.user_id) ?? new Set<string>();
    seen.add(e.item_id);
    this.seen.set(e.user_id, seen);
    this.itemCounts.set(e.item_id, (this.itemCounts.get(e.item_id) ?? 0) + 1);
    this.userCounts.set(e.user_id, (this.userCounts.get(e.user_id) ?? 0) + 1);
  }

  /** A point of the loss curve after LEARN learned from a window (a window with nothing to contrast is no point). */
  recordLoss(eventsTrained: number, loss: number): void {
    if (loss <= 0) return;
    const point: LossPoint = { eventsTrained, learn: loss };
    this.lossCurve.push(point);
    const id = this.idLoss;
    if (typeof id === 'number') point.sasrec = id;
    // From the ID model's thread: filled in when its step is done (closeIdThread() waits for that).
    else if (id) void id.then((l) => (point.sasrec = l), () => undefined);
  }

  report(): Record<string, MetricsReport> {
    return Object.fromEntries(this.methods.map((m) => [m, this.metrics.get(m)!.report()]));
  }

  /** Per method, overall, cold-item and new-item metrics under every operating point (empty without grid). */
  operatingPoints(): Partial<Record<MethodName, ReturnType<OperatingPointMetrics['report']>>> {
    return Object.fromEntries([...this.gridMetrics].map(([m, g]) => [m, g.report()]));
  }

  dispose(): void {
    this.idLearner?.dispose();
    this.idLearner = undefined;
  }

  /**
   * One method's scores for event i (absent: no history, the fallback ranks it). The user vectors of every event
   * with a history are computed up front in one batched call; item vectors once per window.
   */
  private scorer(m: 'learn' | 'content', model: OnlineModel, ids: readonly string[], histories: readonly (readonly ItemRef[])[]): (i: number) => Float32Array | undefined {
    const withHistory = histories.filter((h) => h.length > 0);
    if (withHistory.length === 0) return () => undefined;
    if (m === 'learn') {
      return rowScorer(histories, { items: model.itemMatrix(ids), users: model.userVectorsOf(withHistory), dim: model.config.outDim }, ids.length);
    }
    const dim = model.config.contentDim;
    const items = stackRows(ids.map((id) => model.content.get(id) as Float32Array), dim);
    return rowScorer(histories, { items, users: withHistory.map((h) => normalisedMean(h.map((r) => r.content), dim)), dim }, ids.length);
  }

  private sasrec(model: OnlineModel): IdSequenceLearner {
    if (!this.idLearner) {
      this.idLearner = new IdSequenceLearner(model.config, this.opts.idCapacity, this.opts.seed);
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

/** A window being scored: its events in event-time order, the candidates, each event's history, when scoring began. */
interface OpenWindow {
  started: number;
  events: UserEvent[];
  ids: string[];
  histories: ItemRef[][];
}

/** A method's vectors for a window: the candidates' matrix (row-major [n * dim]) and one user vector per non-empty history. */
interface RowVectors {
  items: Float32Array;
  users: readonly Float32Array[];
  dim: number;
}

/** Event i's scores over the candidates, from the user vector of its history; undefined for an event without one. */
function rowScorer(histories: readonly (readonly ItemRef[])[], v: RowVectors, n: number): (i: number) => Float32Array | undefined {
  const rowOf = new Map<number, number>();
  histories.forEach((h, i) => {
    if (h.length > 0) rowOf.set(i, rowOf.size);
  });
  return (i) => {
    const r = rowOf.get(i);
    return r === undefined ? undefined : scoreRows(v.items, n, v.dim, v.users[r] as Float32Array);
  };
}
