// Aggregates replay ranks overall, per time window and per cold/warm slice.
import { COLD_ITEM_THRESHOLD, DAY_MS } from '../config/constants.js';
import { ndcgAtK, recallAtK, reciprocalRank } from './metrics.js';

/** What the trainer knows when it scores one event, before training on it. */
export interface RankObservation {
  /** 1-based rank of the target item; Infinity when it could not be ranked. */
  rank: number;
  /** Interactions with the target item earlier in the stream (0 for a never-seen item). */
  itemInteractionsBefore: number;
  /** Events of this user earlier in the stream. */
  userEventsBefore: number;
  /** Event time, epoch ms. */
  eventTime: number;
}

/**
 * Slices, which overlap rather than partition: an event with a cold item and a cold user counts in both.
 * - coldItem: the item had fewer than `coldThreshold` earlier interactions (none included);
 * - newItem: the item had none at all (the pure content cold start; a subset of coldItem);
 * - coldUser: the user had fewer than `coldThreshold` earlier events;
 * - warm: neither cold (item and user both at or above the threshold).
 */
export const SLICES = ['coldItem', 'newItem', 'coldUser', 'warm'] as const;
export type SliceName = (typeof SLICES)[number];

/** Windows per N events in arrival order, or per fixed span of event time aligned to the epoch (UTC days: DAY_MS). */
export type WindowSpec = { by: 'events'; size: number } | { by: 'time'; ms: number };

export const DEFAULT_KS: readonly number[] = [10, 50];
export const DEFAULT_WINDOW: WindowSpec = { by: 'time', ms: DAY_MS };

export interface MetricsOptions {
  ks?: readonly number[];
  coldThreshold?: number;
  window?: WindowSpec;
}

/** Means over a group of events. recall and ndcg are keyed by K ("10"). */
export interface MetricSummary {
  events: number;
  recall: Record<string, number>;
  ndcg: Record<string, number>;
  mrr: number;
}

export interface WindowSummary extends MetricSummary {
  index: number;
  /** Event-time bounds, epoch ms: the window's span for time windows, its first and last event otherwise. */
  start: number;
  end: number;
}

export interface MetricsReport {
  ks: number[];
  coldThreshold: number;
  window: WindowSpec;
  overall: MetricSummary;
  slices: Record<SliceName, MetricSummary>;
  windows: WindowSummary[];
}

/** The slices an event belongs to (see SLICES). */
export function slicesOf(obs: Pick<RankObservation, 'itemInteractionsBefore' | 'userEventsBefore'>, coldThreshold = COLD_ITEM_THRESHOLD): SliceName[] {
  const out: SliceName[] = [];
  const coldItem = obs.itemInteractionsBefore < coldThreshold;
  const coldUser = obs.userEventsBefore < coldThreshold;
  if (coldItem) out.push('coldItem');
  if (obs.itemInteractionsBefore === 0) out.push('newItem');
  if (coldUser) out.push('coldUser');
  if (!coldItem && !coldUser) out.push('warm');
  return out;
}

/** Running sums of one group; means are taken only when summarised. */
class RankSums {
  events = 0;
  private rr = 0;
  private readonly hits: number[];
  private readonly gains: number[];

  constructor(private readonly ks: readonly number[]) {
    this.hits = ks.map(() => 0);
    this.gains = ks.map(() => 0);
  }

  add(rank: number): void {
    const rr = reciprocalRank(rank); // validates the rank before anything changes
    this.events++;
    this.rr += rr;
    this.ks.forEach((k, i) => {
      this.hits[i] = (this.hits[i] ?? 0) + recallAtK(rank, k);
      this.gains[i] = (this.gains[i] ?? 0) + ndcgAtK(rank, k);
    });
  }

  summary(): MetricSummary {
    const mean = (x: number): number => (this.events === 0 ? 0 : x / this.events);
    return {
      events: this.events,
      recall: Object.fromEntries(this.ks.map((k, i) => [String(k), mean(this.hits[i] ?? 0)])),
      ndcg: Object.fromEntries(this.ks.map((k, i) => [String(k), mean(this.gains[i] ?? 0)])),
      mrr: mean(this.rr),
    };
  }
}

interface WindowState {
  sums: RankSums;
  first: number;
  last: number;
}

/** Feed it one observation per scored event (test-then-train); `report()` at any time. */
export class RankingMetrics {
  readonly ks: number[];
  readonly coldThreshold: number;
  readonly window: WindowSpec;
  private readonly overall: RankSums;
  private readonly slices: Record<SliceName, RankSums>;
  private readonly windows = new Map<number, WindowState>();

  constructor(opts: MetricsOptions = {}) {
    this.ks = [...(opts.ks ?? DEFAULT_KS)];
    if (this.ks.length === 0 || this.ks.some((k) => !Number.isInteger(k) || k < 1)) {
      throw new RangeError(`ks must be integers >= 1, got [${this.ks.join(', ')}]`);
    }
    this.coldThreshold = opts.coldThreshold ?? COLD_ITEM_THRESHOLD;
    this.window = opts.window ?? DEFAULT_WINDOW;
    const width = this.window.by === 'events' ? this.window.size : this.window.ms;
    if (!Number.isInteger(width) || width < 1) throw new RangeError(`window size must be an integer >= 1, got ${width}`);
    this.overall = new RankSums(this.ks);
    this.slices = Object.fromEntries(SLICES.map((s) => [s, new RankSums(this.ks)])) as Record<SliceName, RankSums>;
  }

  /** Events added so far. */
  get events(): number {
    return this.overall.events;
  }

  add(obs: RankObservation): void {
    for (const [name, v] of [
      ['itemInteractionsBefore', obs.itemInteractionsBefore],
      ['userEventsBefore', obs.userEventsBefore],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be an integer >= 0, got ${v}`);
    }
    if (!Number.isFinite(obs.eventTime)) throw new RangeError(`eventTime must be finite, got ${obs.eventTime}`);
    const index = this.window.by === 'events' ? Math.floor(this.overall.events / this.window.size) : Math.floor(obs.eventTime / this.window.ms);
    // The overall sums validate the rank before counting it, so a bad observation changes nothing.
    this.overall.add(obs.rank);
    for (const s of slicesOf(obs, this.coldThreshold)) this.slices[s].add(obs.rank);
    let w = this.windows.get(index);
    if (!w) {
      w = { sums: new RankSums(this.ks), first: obs.eventTime, last: obs.eventTime };
      this.windows.set(index, w);
    }
    w.sums.add(obs.rank);
    w.first = Math.min(w.first, obs.eventTime);
    w.last = Math.max(w.last, obs.eventTime);
  }

  report(): MetricsReport {
    const windows = [...this.windows.entries()]
      .sort(([a], [b]) => a - b)
      .map(([index, w]): WindowSummary => {
        const span = this.window.by === 'time' ? { start: index * this.window.ms, end: (index + 1) * this.window.ms } : { start: w.first, end: w.last };
        return { index, ...span, ...w.sums.summary() };
      });
    return {
      ks: [...this.ks],
      coldThreshold: this.coldThreshold,
      window: this.window,
      overall: this.overall.summary(),
      slices: Object.fromEntries(SLICES.map((s) => [s, this.slices[s].summary()])) as Record<SliceName, MetricSummary>,
      windows,
    };
  }
}
