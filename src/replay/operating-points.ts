// Score-time operating points: one replay ranks every event under a grid of settings, so the trade-off between
// overall and cold-item recall is measured in one pass, for every method on the same events.
import type { MetricSummary } from './metrics-accumulator.js';
import { RankingMetrics, type MetricsOptions } from './metrics-accumulator.js';

/**
 * score + beta * popularity prior + contentWeight * content cosine:
 * - the prior is log(1 + decayed popularity) / log(1 + the largest decayed popularity), in [0, 1] whatever the traffic;
 * - the content cosine is the frozen content's user vector (normalised mean of the history) against the item's content.
 * The prior depends on no item content, so every method gets it; the content term is content, so LEARN alone.
 * - the cold gate (LEARN only, coldMix > 0) mixes LEARN's own score with that content cosine for items with few
 *   interactions: score' = (1 - a) * score + a * cosine, a = coldMix * max(0, 1 - max(n, 1) / coldGateK), n the item's
 *   interactions strictly before the scored event. An item with none is gated exactly like an item with one: in a
 *   data set whose items are listed just before their first event (ML-100K here), "never interacted with" means "about
 *   to be", and anything that singles such items out learns that artefact (a boost for them alone reached new-item
 *   Recall@10 0.47 on it).
 */
export interface OperatingPoint {
  beta: number;
  contentWeight: number;
  /** Weight of the cold gate's content mix for an item with at most one interaction (0: off). */
  coldMix?: number;
  /** Interactions at which the cold gate has faded to 0. */
  coldGateK?: number;
}

/** The cold gate's weight a for an item with `n` earlier interactions (see OperatingPoint). */
export function coldGate(n: number, coldMix: number, k: number): number {
  if (coldMix <= 0) return 0;
  return coldMix * Math.max(0, 1 - Math.max(n, 1) / k);
}

export const PRIOR_GRID: readonly number[] = [0, 0.05, 0.1, 0.2, 0.3, 0.5, 1];
export const CONTENT_WEIGHT_GRID: readonly number[] = [0, 0.1, 0.2, 0.3, 0.5, 1];

/** The points a method is ranked under: every prior, and for LEARN every (prior, content weight) pair. */
export function operatingGrid(withContent: boolean): OperatingPoint[] {
  const plain = PRIOR_GRID.flatMap((beta) => (withContent ? CONTENT_WEIGHT_GRID : [0]).map((contentWeight) => ({ beta, contentWeight })));
  return withContent ? [...plain, ...COLD_GATE_GRID] : plain;
}

/** The cold gate's sweep (LEARN only): the mix at two fade-out counts, around the default prior and content weight. */
export const COLD_GATE_GRID: readonly OperatingPoint[] = [
  ...[0.3, 0.6, 1].flatMap((coldMix) => [5, 20].map((coldGateK) => ({ beta: 0.3, contentWeight: 0.2, coldMix, coldGateK }))),
  ...[0.6, 1].map((coldMix) => ({ beta: 0.5, contentWeight: 0.2, coldMix, coldGateK: 20 })),
];

/** The normalised popularity prior of each candidate (see OperatingPoint). */
export function popularityPrior(pop: Float32Array): Float32Array {
  let max = 0;
  for (const p of pop) max = Math.max(max, p);
  const scale = max > 0 ? 1 / Math.log1p(max) : 0;
  return pop.map((p) => Math.log1p(p) * scale);
}

/** What a point adds to a candidate's score besides the method's own. */
export interface ScoreTerms {
  prior: Float32Array;
  /** The frozen content's cosine of the user's history and each candidate (where the content term applies). */
  content?: Float32Array;
  /** Each candidate's interactions strictly before the scored event (what the cold gate reads). */
  interactions?: Float32Array;
}

/**
 * The 1-based rank of the target under a point, pessimistic on ties; `excluded[j]` = 1 drops candidate j (the target
 * always competes). A NaN target ranks last.
 */
export function rankAt(base: Float32Array, terms: ScoreTerms, p: OperatingPoint, target: number, excluded: Uint8Array): number {
  const { prior, content, interactions } = terms;
  const useContent = p.contentWeight !== 0 && content !== undefined;
  const mix = p.coldMix ?? 0;
  const k = p.coldGateK ?? 1;
  const gated = mix > 0 && content !== undefined && interactions !== undefined;
  const own = (j: number): number => {
    if (!gated) return base[j] as number;
    const a = coldGate(interactions[j] as number, mix, k);
    return (1 - a) * (base[j] as number) + a * (content[j] as number);
  };
  const score = (j: number): number => own(j) + p.beta * (prior[j] as number) + (useContent ? p.contentWeight * (content[j] as number) : 0);
  const s = score(target);
  if (Number.isNaN(s)) return base.length - countExcluded(excluded, target);
  let ahead = 0;
  for (let j = 0; j < base.length; j++) {
    if (j === target || excluded[j] === 1) continue;
    if (score(j) >= s) ahead++;
  }
  return 1 + ahead;
}

function countExcluded(excluded: Uint8Array, target: number): number {
  let n = 0;
  for (let j = 0; j < excluded.length; j++) if (j !== target && excluded[j] === 1) n++;
  return n;
}

/** Metrics of one method under every point of its grid. */
export class OperatingPointMetrics {
  readonly points: OperatingPoint[];
  private readonly metrics: RankingMetrics[];

  constructor(points: OperatingPoint[], opts: MetricsOptions) {
    this.points = points;
    // One window for everything: the over-time curves belong to the default point only.
    this.metrics = points.map(() => new RankingMetrics({ ...opts, window: { by: 'events', size: Number.MAX_SAFE_INTEGER } }));
  }

  add(i: number, obs: Parameters<RankingMetrics['add']>[0]): void {
    this.metrics[i]!.add(obs);
  }

  report(): Array<OperatingPoint & { overall: MetricSummary; coldItem: MetricSummary; newItem: MetricSummary }> {
    return this.points.map((p, i) => {
      const r = this.metrics[i]!.report();
      return { ...p, overall: r.overall, coldItem: r.slices.coldItem, newItem: r.slices.newItem };
    });
  }
}
