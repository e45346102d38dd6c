// Score-time operating points: one replay ranks every event under a grid of settings, so the trade-off between
// overall and cold-item recall is measured in one pass, for every method on the same events.
import type { Config } from '../config/load.js';
import { COLD_ITEM_THRESHOLD } from '../config/constants.js';
import { rankWithColdSlots } from './cold-slots.js';
import type { MetricSummary } from './metrics-accumulator.js';
import { RankingMetrics, type MetricsOptions } from './metrics-accumulator.js';

/**
 * score + beta * popularity prior + contentWeight * content cosine:
 * - the prior is log(1 + decayed popularity) / log(1 + the largest decayed popularity), in [0, 1] whatever the traffic;
 * - the content cosine is the frozen content's user vector (normalised mean of the history) against the item's content.
 * The prior depends on no item content, so every method gets it; the content term is content, so LEARN alone.
 * - the cold gate (LEARN only) leans on that content cosine for items with few interactions, by the fade
 *   f(n) = max(0, 1 - max(n, 1) / coldGateK), n the item's interactions strictly before the scored event: coldMix
 *   mixes LEARN's own score with the cosine, (1 - a) * score + a * cosine with a = coldMix * f(n); coldBoost adds
 *   coldBoost * f(n) * cosine on top. An item with none is gated exactly like an item with one: in a data set whose
 *   items are listed just before their first event (ML-100K here), "never interacted with" means "about to be", and
 *   anything that singles such items out learns that artefact (a boost for them alone reached new-item Recall@10 0.47).
 */
export interface OperatingPoint {
  beta: number;
  contentWeight: number;
  /** Weight of the cold gate's content mix, times the fade (0: off). */
  coldMix?: number;
  /** Weight of the cold gate's additive content term, times the fade (0: off). */
  coldBoost?: number;
  /** Interactions at which the cold gate has faded to 0. */
  coldGateK?: number;
  /**
   * Places of the top 10 reserved for cold items (fewer than coldSlotsBelow interactions), filled by the method's
   * own score (src/replay/cold-slots.ts). Needs no content: every method gets it.
   */
  coldSlots?: number;
  /** Interactions from which an item takes no cold slot (default COLD_ITEM_THRESHOLD). */
  coldSlotsBelow?: number;
  /**
   * What fills the cold slots: 'score', the point's own score (prior included); 'cold-score', the method's score
   * without the prior, plus for LEARN the content cosine at weight 1 (its best cold-item ranking in the grid).
   */
  coldSlotsBy?: ColdSlotScore;
}

export type ColdSlotScore = 'score' | 'cold-score';

/** The settings an operating point is read from (LEARN_REPLAY_*): the only source of the default point. */
export type OperatingPointSettings = Pick<
  Config,
  'replayPrior' | 'replayContentWeight' | 'replayColdMix' | 'replayColdBoost' | 'replayColdGateK' | 'replayColdSlots' | 'replayColdSlotsBelow' | 'replayColdSlotsBy'
>;

/** The default operating point of the settings, with the prior and content weight optionally overridden (--prior, --content-weight). */
export function operatingPointFrom(cfg: OperatingPointSettings, override: { beta?: number; contentWeight?: number } = {}): OperatingPoint {
  return {
    beta: override.beta ?? cfg.replayPrior,
    contentWeight: override.contentWeight ?? cfg.replayContentWeight,
    ...(cfg.replayColdMix > 0 || cfg.replayColdBoost > 0 ? { coldMix: cfg.replayColdMix, coldBoost: cfg.replayColdBoost, coldGateK: cfg.replayColdGateK } : {}),
    ...(cfg.replayColdSlots > 0 ? { coldSlots: cfg.replayColdSlots, coldSlotsBelow: cfg.replayColdSlotsBelow, coldSlotsBy: cfg.replayColdSlotsBy } : {}),
  };
}

/**
 * Which terms of a point apply to a method's scores: 'content' (the content term, the prior, the cold gate and slots:
 * LEARN), 'history' (the prior and the slots), 'popularity' (its score is the prior itself: the slots alone).
 */
export type OperatingPointKind = 'content' | 'history' | 'popularity';

/** The cold gate's fade for an item with `n` earlier interactions: 1 - 1/k at none or one, 0 from k on (see OperatingPoint). */
export function coldFade(n: number, k: number): number {
  return Math.max(0, 1 - Math.max(n, 1) / k);
}

export const PRIOR_GRID: readonly number[] = [0, 0.05, 0.1, 0.2, 0.3, 0.5, 1];
export const CONTENT_WEIGHT_GRID: readonly number[] = [0, 0.1, 0.2, 0.3, 0.5, 1];

/**
 * The points a method is ranked under: every prior, for LEARN every (prior, content weight) pair and the cold gate,
 * and for every method the cold slots. Popularity, whose own score is the prior, gets the slots alone.
 */
export function operatingGrid(kind: OperatingPointKind): OperatingPoint[] {
  if (kind === 'popularity') return coldSlotGrid([{ beta: 0, contentWeight: 0 }], ['score']);
  const withContent = kind === 'content';
  const plain = PRIOR_GRID.flatMap((beta) => (withContent ? CONTENT_WEIGHT_GRID : [0]).map((contentWeight) => ({ beta, contentWeight })));
  const slotBases = [0.3, 1].map((beta) => ({ beta, contentWeight: withContent ? 0.2 : 0 }));
  return [...plain, ...(withContent ? COLD_GATE_GRID : []), ...coldSlotGrid(slotBases)];
}

/**
 * 1, 2 or 3 of the top 10 reserved for items with fewer than 5 interactions, filled by either slot score, at each
 * base point. (Slots for items with fewer than 20 were tried: under the prior they all went to items with 5 to 19,
 * and cold-item recall did not move.)
 */
function coldSlotGrid(bases: OperatingPoint[], by: readonly ColdSlotScore[] = ['score', 'cold-score']): OperatingPoint[] {
  return bases.flatMap((b) => [1, 2, 3].flatMap((coldSlots) => by.map((coldSlotsBy) => ({ ...b, coldSlots, coldSlotsBelow: COLD_ITEM_THRESHOLD, coldSlotsBy }))));
}

/** The cold gate's sweep (LEARN only), around the default prior and content weight: the mix, and the boost at two fade-out counts. */
export const COLD_GATE_GRID: readonly OperatingPoint[] = [
  ...[0.3, 0.6, 1].map((coldMix) => ({ beta: 0.3, contentWeight: 0.2, coldMix, coldGateK: 20 })),
  ...[0.25, 0.5, 1].flatMap((coldBoost) => [5, 20].map((coldGateK) => ({ beta: 0.3, contentWeight: 0.2, coldBoost, coldGateK }))),
  ...[0.5, 1].map((coldBoost) => ({ beta: 0.5, contentWeight: 0.2, coldBoost, coldGateK: 20 })),
];

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
  const boost = p.coldBoost ?? 0;
  const k = p.coldGateK ?? 1;
  const gated = (mix > 0 || boost > 0) && content !== undefined && interactions !== undefined;
  if (!gated && (p.coldSlots ?? 0) <= 0) return plainRank(base, prior, useContent ? content : undefined, p.beta, p.contentWeight, target, excluded);
  const own = (j: number): number => {
    if (!gated) return base[j] as number;
    const f = coldFade(interactions[j] as number, k);
    const a = mix * f;
    return (1 - a) * (base[j] as number) + (a + boost * f) * (content[j] as number);
  };
  const score = (j: number): number => own(j) + p.beta * (prior[j] as number) + (useContent ? p.contentWeight * (content[j] as number) : 0);
  if ((p.coldSlots ?? 0) > 0) {
    if (interactions === undefined) throw new Error('cold slots need the candidates\' interaction counts');
    const coldScore = (j: number): number => own(j) + (content !== undefined ? (content[j] as number) : 0);
    const slotScore = p.coldSlotsBy === 'cold-score' ? coldScore : score;
    const below = p.coldSlotsBelow ?? COLD_ITEM_THRESHOLD;
    return rankWithColdSlots(score, base.length, target, excluded, (j) => (interactions[j] as number) < below, p.coldSlots ?? 0, slotScore);
  }
  const s = score(target);
  if (Number.isNaN(s)) return base.length - countExcluded(excluded, target);
  let ahead = 0;
  for (let j = 0; j < base.length; j++) {
    if (j === target || excluded[j] === 1) continue;
    if (score(j) >= s) ahead++;
  }
  return 1 + ahead;
}

/**
 * rankAt without the cold gate or slots (every event at the default point): the same sums in the same order as its
 * general path (base + beta * prior, + weight * content when there is a content term), in one loop over typed arrays.
 */
function plainRank(base: Float32Array, prior: Float32Array, content: Float32Array | undefined, beta: number, weight: number, target: number, excluded: Uint8Array): number {
  const n = base.length;
  const s = content ? (base[target] as number) + beta * (prior[target] as number) + weight * (content[target] as number) : (base[target] as number) + beta * (prior[target] as number) + 0;
  if (Number.isNaN(s)) return n - countExcluded(excluded, target);
  let ahead = 0;
  if (content) {
    for (let j = 0; j < n; j++) if (excluded[j] !== 1 && (base[j] as number) + beta * (prior[j] as number) + weight * (content[j] as number) >= s) ahead++;
  } else {
    for (let j = 0; j < n; j++) if (excluded[j] !== 1 && (base[j] as number) + beta * (prior[j] as number) + 0 >= s) ahead++;
  }
  // The loop counted the target itself (s >= s) unless it is excluded.
  if (excluded[target] !== 1) ahead--;
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
