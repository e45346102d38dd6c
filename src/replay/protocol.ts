// The replay protocol both paths follow (the Kafka pipeline and the in-process driver), so that a seed gives the
// same windows, candidates, negatives and ranks on either:
// - listings first: every listing is encoded, in listing order, before the first event (the content table's order is
//   the listing order on both paths);
// - events in stream order (one partition per replay topic), cut into windows by size only (LEARN_BATCH_USERS users
//   or LEARN_WINDOW_MAX_EVENTS events; no wall-clock cut), the last window when the stream ends;
// - each window is ranked by every method before any learns from it; an item is a candidate for an event once
//   listed at or before the event's time; negatives are drawn from the items listed by the window's last event.
import type { Logger } from 'pino';
import type { ItemListing, UserEvent } from '../codec/index.js';
import type { Config } from '../config/load.js';
import { firstEvents, loadDataset, type DatasetRecord } from '../data/index.js';
import type { ContentTable } from '../learner/content-table.js';
import type { WindowExamples } from '../learner/online-model.js';
import type { NegativePool } from '../model/index.js';
import { ReplayEvaluator, type MethodName } from './evaluator.js';
import { COLD_ITEM_THRESHOLD, DAY_MS } from '../config/constants.js';
import type { OperatingPoint } from './operating-points.js';

export const REPLAY_KS: readonly number[] = [10, 20, 50];

/** What a replay runs on: the stream split into listings and events, and the evaluator that scores it. */
export interface ReplayPlan {
  cfg: Config;
  listings: ItemListing[];
  events: UserEvent[];
  catalogue: ListedCatalogue;
  evaluator: ReplayEvaluator;
}

export interface PlanOptions {
  dataset: string;
  limit?: number;
  methods: readonly MethodName[];
  /** See EvaluatorOptions.operatingPoint and grid. */
  operatingPoint: OperatingPoint;
  grid?: boolean;
  keepRanks?: boolean;
  log?: Logger;
}

/** Loads the data set (the first `limit` events and the listings before them) and builds the evaluator. */
export async function planReplay(cfg: Config, opts: PlanOptions): Promise<ReplayPlan> {
  let records: DatasetRecord[] = await loadDataset(opts.dataset, cfg);
  if (opts.limit !== undefined) records = firstEvents(records, opts.limit);
  const listings = records.flatMap((r) => (r.kind === 'listing' ? [r.value] : []));
  const events = records.flatMap((r) => (r.kind === 'event' ? [r.value] : []));
  const catalogue = new ListedCatalogue(listings);
  const evaluator = new ReplayEvaluator({
    methods: opts.methods,
    ks: REPLAY_KS,
    window: { by: 'time', ms: Math.round(cfg.replayWindowDays * DAY_MS) },
    coldThreshold: COLD_ITEM_THRESHOLD,
    halfLifeMs: cfg.popularityHalfLifeDays * DAY_MS,
    idCapacity: Math.max(1, catalogue.size),
    seed: cfg.seed,
    stepsPerBatch: cfg.stepsPerBatch,
    rehearsal: { windows: cfg.rehearsalWindows, samples: cfg.rehearsalSamples },
    catalogue,
    operatingPoint: opts.operatingPoint,
    ...(opts.grid ? { grid: true } : {}),
    ...(cfg.replayStaleItems ? { staleItems: { versionEverySteps: cfg.versionEverySteps, refreshSteps: cfg.itemRefreshSteps } } : {}),
    ...(opts.keepRanks ? { keepRanks: true } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
  return { cfg, listings, events, catalogue, evaluator };
}

/**
 * The data set's items in listing order, and which of them a window may use: the replay's candidates and negatives
 * are the items listed at or before a time that have content, in listing order (never the content table's arrival
 * order, which the encoder's batching may shuffle).
 */
export class ListedCatalogue {
  private readonly order: string[];
  private readonly times: number[];
  private readonly at: Map<string, number>;

  constructor(listings: readonly ItemListing[]) {
    const sorted = listings.map((l, i) => ({ id: l.item_id, t: l.listed_at, i })).sort((a, b) => a.t - b.t || a.i - b.i);
    this.order = sorted.map((x) => x.id);
    this.times = sorted.map((x) => x.t);
    this.at = new Map(sorted.map((x) => [x.id, x.t]));
  }

  get size(): number {
    return this.order.length;
  }

  listedAt(itemId: string): number | undefined {
    return this.at.get(itemId);
  }

  /** Items listed at or before `ts` that have content, in listing order. */
  available(ts: number, content: Pick<ContentTable, 'has'>): string[] {
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.times[mid] as number) <= ts) lo = mid + 1;
      else hi = mid;
    }
    return this.order.slice(0, lo).filter((id) => content.has(id));
  }

  /** A window's negative pool: the items available by its last event. */
  poolFor(w: WindowExamples, content: ContentTable): NegativePool {
    let last = -Infinity;
    for (const list of w.events.values()) for (const e of list) last = Math.max(last, e.ts);
    const ids = this.available(last, content);
    return { size: ids.length, at: (i) => ({ itemId: ids[i] as string, content: content.get(ids[i] as string) as Float32Array }) };
  }
}
