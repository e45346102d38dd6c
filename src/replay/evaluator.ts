// Test-then-train scoring of every method on exactly the same events: the replay calls it with each window before
// any method learns from it (the Kafka path from the trainer's windowReady event, the in-process path directly). The
// evaluator ranks and counts; the methods (src/replay/methods/) score and learn, and none is known here by name.
import { COLD_ITEM_THRESHOLD } from '../config/constants.js';
import type { Logger } from 'pino';
import type { UserEvent } from '../codec/index.js';
import type { OnlineModel, WindowExamples } from '../learner/online-model.js';
import type { BackendChoice, ItemRef, NegativePool, UserExample } from '../model/index.js';
import { log } from '../ops/logger.js';
import { RankingMetrics, type MetricsReport, type WindowSpec } from './metrics-accumulator.js';
import { DecayedPopularity, popularityPrior } from '../popularity/index.js';
import { operatingGrid, OperatingPointMetrics, rankAt, type OperatingPoint, type ScoreTerms } from './operating-points.js';
import { frozenContentScores } from './methods/frozen-content.js';
import type { ServedItemsSchedule } from './served-items.js';
import { createMethod, type EventScores, type MethodName, type ReplayMethod, type ScoringWindow } from './methods/index.js';

export { METHODS, METHOD_LABELS, parseMethods, type MethodName } from './methods/index.js';

/**
 * What a method does for a user with no history yet (no user vector): every history-based method ranks such an
 * event by the popularity scores of the same moment. Counted per method in `fallbackEvents`.
 */
export const COLD_USER_FALLBACK = 'popularity';

/** The items an event may be ranked over: those listed by a time (see protocol.ts's ListedCatalogue). */
export interface CandidateCatalogue {
  /** Items listed at or before `ts` that have content, in listing order. */
  available(ts: number, content: { has(itemId: string): boolean }): string[];
  listedAt(itemId: string): number | undefined;
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
  /** Optimizer steps per window of the learned baselines (the trainer's LEARN_STEPS_PER_BATCH: the same budget). */
  stepsPerBatch: number;
  /** The trainer's rehearsal (LEARN_REHEARSAL_WINDOWS / _SAMPLES): the learned baselines rehearse the same way. */
  rehearsal: { windows: number; samples: number };
  /**
   * The items in listing order: an item is a candidate for an event once listed at or before the event's time.
   * Absent: every item with content is a candidate.
   */
  catalogue?: CandidateCatalogue;
  /**
   * The operating point of the metrics (see operating-points.ts): the popularity prior weight every history-based
   * method ranks with, and the weight of the frozen content's cosine added to LEARN's scores. The default is the
   * settings' (operatingPointFrom).
   */
  operatingPoint: OperatingPoint;
  /** Also rank every event under the whole grid of operating points (the trade-off curves). */
  grid?: boolean;
  /** LEARN's item vectors as stale as serving's, on this schedule (LEARN_REPLAY_STALE_ITEMS; absent: the newest weights'). */
  staleItems?: ServedItemsSchedule;
  /** Keep every event's rank per method (`ranks`), e.g. to compare two replay paths event by event. */
  keepRanks?: boolean;
  log?: Logger;
}

/** LEARN's loss after a window, and each learned baseline's (by method name) when it has one. */
export interface LossPoint {
  eventsTrained: number;
  learn: number;
  [method: string]: number | undefined;
}

export class ReplayEvaluator {
  readonly methods: readonly MethodName[];
  readonly metrics = new Map<MethodName, RankingMetrics>();
  /** Events a method ranked by the cold-user fallback (every method but those that rank by popularity anyway). */
  readonly fallbackEvents = new Map<MethodName, number>();
  readonly lossCurve: LossPoint[] = [];
  /** Per method, each scored event's rank in scoring order (only with keepRanks). */
  readonly ranks = new Map<MethodName, number[]>();
  /** Per method and user, at the default operating point: [events, hits@10, NDCG@10 sum, cold-item events, cold-item hits@10] (paired comparisons of two runs). */
  readonly perUser = new Map<MethodName, Map<string, [number, number, number, number, number]>>();
  /** Per method, its metrics under every operating point of the grid (only with grid). */
  readonly gridMetrics = new Map<MethodName, OperatingPointMetrics>();
  windows = 0;
  scoreSeconds = 0;
  private readonly impl = new Map<MethodName, ReplayMethod>();
  private readonly popularity: DecayedPopularity;
  private readonly seen = new Map<string, Set<string>>();
  private readonly itemCounts = new Map<string, number>();
  private readonly userCounts = new Map<string, number>();

  constructor(private readonly opts: EvaluatorOptions) {
    this.methods = [...opts.methods];
    const settings = { catalogueSize: opts.idCapacity, seed: opts.seed, stepsPerBatch: opts.stepsPerBatch, rehearsal: opts.rehearsal, ...(opts.staleItems ? { staleItems: opts.staleItems } : {}), log: opts.log ?? log('replay.evaluator') };
    for (const m of this.methods) {
      const method = createMethod(m, settings);
      this.impl.set(m, method);
      this.metrics.set(m, new RankingMetrics({ ks: opts.ks, coldThreshold: opts.coldThreshold, window: opts.window }));
      if (method.kind !== 'popularity') this.fallbackEvents.set(m, 0);
      if (opts.keepRanks) this.ranks.set(m, []);
      if (opts.grid) this.gridMetrics.set(m, new OperatingPointMetrics(operatingGrid(method.kind), { ks: opts.ks, coldThreshold: opts.coldThreshold }));
    }
    this.popularity = new DecayedPopularity(opts.halfLifeMs);
  }

  get scored(): number {
    return this.metrics.get(this.methods[0] as MethodName)?.events ?? 0;
  }

  /** Seconds the methods spent learning (in their own threads, if any: then beside the rest, not part of the wall time). */
  get methodTrainSeconds(): number {
    return [...this.impl.values()].reduce((s, m) => s + m.trainSeconds, 0);
  }

  /** Whether a method ran in its own thread (its training time then overlaps the rest). */
  get methodsThreaded(): boolean {
    return [...this.impl.values()].some((m) => m.threaded);
  }

  /** Before the first window: each method may set up (e.g. move its model into its own thread, with `thread`). */
  start(model: OnlineModel, backend: BackendChoice, opts: { thread: boolean }): void {
    for (const m of this.impl.values()) m.start?.({ model, backend, thread: opts.thread });
  }

  /**
   * Ranks every event of the window by every method, by the weights from before the window (test-then-train). Each
   * event is scored with the user's history up to that event (the history before the window plus the user's earlier
   * events in this window), and only a user's very first event falls back to popularity. Candidates are the items
   * with content listed at or before the event, minus the user's earlier items. A promise when a method scores in
   * its own thread: such methods are asked first, so their vectors are computed there while the others' are computed
   * here; the same calls reach the same models in the same order, so every rank is the same either way.
   */
  scoreWindow(w: WindowExamples, model: OnlineModel): void | Promise<void> {
    const window = this.openWindow(w, model);
    if (!window) return;
    const order = [...this.impl].sort(([, a], [, b]) => Number(b.threaded) - Number(a.threaded));
    const pending = new Map<MethodName, EventScores | Promise<EventScores>>();
    for (const [m, method] of order) {
      const s = window.candidates.length > 0 ? method.scores(window) : undefined;
      if (s) pending.set(m, s);
    }
    const ready = new Map<MethodName, EventScores>();
    for (const [m, s] of pending) if (!(s instanceof Promise)) ready.set(m, s);
    if (ready.size === pending.size) return this.rankWindow(window, ready);
    return (async () => {
      for (const [m, s] of pending) ready.set(m, await s);
      this.rankWindow(window, ready);
    })();
  }

  /** Every method that learns updates its weights from the window (after it was scored, or while pretraining). */
  learn(w: WindowExamples, model: OnlineModel, pool: NegativePool = model.content, rehearse = true): void {
    for (const m of this.impl.values()) m.learn?.(w, { model, pool, rehearse });
  }

  /** Waits until no method's queued work is too large to queue more (a thread's training requests). */
  async waitForRoom(): Promise<void> {
    for (const m of this.impl.values()) await m.waitForRoom?.();
  }

  /**
   * Waits for the methods' queued work (their losses and time are then in the report) and ends their threads;
   * rethrows a failure. `abandon` (a replay that failed) ends them at once, queued work and all.
   */
  async close(opts: { abandon?: boolean } = {}): Promise<void> {
    for (const m of this.impl.values()) await m.close?.(opts);
  }

  /** The window's events in event-time order, its candidates and each event's history; undefined for an empty window. */
  private openWindow(w: WindowExamples, model: OnlineModel): OpenWindow | undefined {
    const started = performance.now();
    const events = [...w.events.values()].flat().sort((a, b) => a.ts - b.ts);
    if (events.length === 0) return undefined;
    const last = (events.at(-1) as UserEvent).ts;
    const catalogue = this.opts.catalogue;
    const candidates = catalogue ? catalogue.available(last, model.content) : [...model.content.ids()];
    const histories = eventHistories(events, w.examples, (id) => model.content.get(id), model.config.maxHistory);
    let frozen: EventScores | undefined;
    const frozenContent = (): EventScores => (frozen ??= frozenContentScores(model, candidates, histories));
    return { started, events, candidates, histories, model, frozenContent };
  }

  private rankWindow(window: OpenWindow, scorers: ReadonlyMap<MethodName, EventScores>): void {
    const { started, events, candidates: ids } = window;
    const catalogue = this.opts.catalogue;
    const index = new Map(ids.map((id, i) => [id, i]));
    const now = (events[0] as UserEvent).ts;
    const popScores = this.popularity.scores(ids, now);
    const point = this.opts.operatingPoint;
    const prior = popularityPrior(popScores);
    // The content term of a 'content'-kind method needs the frozen content's scores, whether or not that method is replayed.
    const takesContent = [...this.impl.values()].some((m) => m.kind === 'content');
    const wantsBoost = takesContent && (point.contentWeight !== 0 || point.coldSlotsBy === 'cold-score' || this.opts.grid === true);
    const contentScores = wantsBoost && ids.length > 0 ? window.frozenContent() : undefined;
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
      for (const [m, method] of this.impl) {
        const own = scorers.get(m)?.(i);
        const fallbacks = this.fallbackEvents.get(m);
        if (!own && fallbacks !== undefined) this.fallbackEvents.set(m, fallbacks + 1);
        // The popularity method, and a user's first event under every method, rank by popularity alone.
        const base = own ?? popScores;
        const withTerms = method.kind === 'content';
        const terms = !own ? plain : withTerms ? withContent : { prior, interactions };
        const rankAtPoint = (p: OperatingPoint): number => (target === undefined ? Number.POSITIVE_INFINITY : rankAt(base, terms, p, target, excluded));
        const slots = point.coldSlots ? { coldSlots: point.coldSlots, coldSlotsBelow: point.coldSlotsBelow ?? COLD_ITEM_THRESHOLD, coldSlotsBy: point.coldSlotsBy ?? 'score' } : {};
        const rank = rankAtPoint(withTerms ? point : { beta: point.beta, contentWeight: 0, ...slots });
        this.metrics.get(m)!.add({ rank, ...obs });
        this.ranks.get(m)?.push(rank);
        this.addPerUser(m, e.user_id, rank, obs.itemInteractionsBefore < this.opts.coldThreshold);
        const grid = this.gridMetrics.get(m);
        // Without the method's own scores (popularity, a user's first event) a point's terms do not apply; its slots do.
        const fallbackAt = (p: OperatingPoint): number =>
          p.coldSlots ? rankAtPoint({ beta: 0, contentWeight: 0, coldSlots: p.coldSlots, coldSlotsBelow: p.coldSlotsBelow ?? COLD_ITEM_THRESHOLD, coldSlotsBy: p.coldSlotsBy ?? 'score' }) : rank;
        grid?.points.forEach((p, k) => grid.add(k, { rank: own ? rankAtPoint(p) : fallbackAt(p), ...obs }));
      }
      this.observeEvent(e);
      if (target !== undefined) interactions[target] = (interactions[target] as number) + 1;
    });
    for (const e of events) this.popularity.add(e.item_id, e.ts);
    this.scoreSeconds += (performance.now() - started) / 1000;
    this.windows++;
  }

  /** A window seen without scoring (the warm-start prefix): popularity, the users' seen items, the interaction counts. */
  observe(events: ReadonlyMap<string, readonly UserEvent[]>): void {
    const sorted = [...events.values()].flat().sort((a, b) => a.ts - b.ts);
    for (const e of sorted) {
      this.observeEvent(e);
      this.popularity.add(e.item_id, e.ts);
    }
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
    for (const [m, method] of this.impl) {
      const l = method.lastLoss?.();
      if (typeof l === 'number') point[m] = l;
      // From a method's thread: filled in when its step is done (close() waits for that).
      else if (l) void l.then((v) => (point[m] = v), () => undefined);
    }
  }

  report(): Record<string, MetricsReport> {
    return Object.fromEntries(this.methods.map((m) => [m, this.metrics.get(m)!.report()]));
  }

  /** Per method, overall, cold-item and new-item metrics under every operating point (empty without grid). */
  operatingPoints(): Partial<Record<MethodName, ReturnType<OperatingPointMetrics['report']>>> {
    return Object.fromEntries([...this.gridMetrics].map(([m, g]) => [m, g.report()]));
  }

  dispose(): void {
    for (const m of this.impl.values()) m.dispose?.();
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

/** A window being scored, and when its scoring began. */
interface OpenWindow extends ScoringWindow {
  started: number;
  candidates: string[];
  histories: ItemRef[][];
}
