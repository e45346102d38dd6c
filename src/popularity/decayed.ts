// Recency-decayed interaction counts: the replay's popularity baseline, and the prior every history-based method adds
// at score time (replay and serving). The store keeps the same counts in Redis (src/store/popularity.ts).

/**
 * Each interaction adds 1 that halves every `halfLifeMs` of event time. Kept lazily per item as
 * (value at its last update, that time), so an update is O(1) and a ranking pass is O(items).
 */
export class DecayedPopularity {
  private readonly items = new Map<string, { value: number; at: number }>();

  constructor(readonly halfLifeMs: number) {
    if (!(halfLifeMs > 0)) throw new RangeError(`halfLifeMs must be > 0, got ${halfLifeMs}`);
  }

  add(itemId: string, at: number, weight = 1): void {
    const cur = this.items.get(itemId);
    if (!cur) {
      this.items.set(itemId, { value: weight, at });
      return;
    }
    // Out-of-order events (partitions interleave) decay forward to the newer time, never backwards.
    const t = Math.max(cur.at, at);
    cur.value = cur.value * this.decay(t - cur.at) + weight * this.decay(t - at);
    cur.at = t;
  }

  /** Scores of `ids` at event time `now` (0 for items never seen). */
  scores(ids: readonly string[], now: number): Float32Array {
    const out = new Float32Array(ids.length);
    ids.forEach((id, i) => {
      const cur = this.items.get(id);
      if (cur) out[i] = cur.value * this.decay(now - cur.at);
    });
    return out;
  }

  /** The prior of `ids` at event time `now` (popularityPrior of their scores). */
  priors(ids: readonly string[], now: number): Float32Array {
    return popularityPrior(this.scores(ids, now));
  }

  private decay(dt: number): number {
    return decayFactor(dt, this.halfLifeMs);
  }
}

/** Decayed counts as a store keeps them: each item's count as of event time `at`, and the half-life they decay by. */
export interface PopularityCounts {
  halfLifeMs: number;
  counts: ReadonlyMap<string, { count: number; at: number }>;
}

/**
 * The prior of every counted item (popularityPrior over the counts decayed to `now`); an item counted after `now`
 * is taken at its count, never decayed upwards.
 */
export function priorsAt(p: PopularityCounts, now: number): Map<string, number> {
  const ids = [...p.counts.keys()];
  const decayed = Float32Array.from(ids, (id) => {
    const c = p.counts.get(id)!;
    return c.count * decayFactor(Math.max(0, now - c.at), p.halfLifeMs);
  });
  const prior = popularityPrior(decayed);
  return new Map(ids.map((id, j) => [id, prior[j] as number]));
}

/** What one unit of count is worth `dt` ms of event time later. */
export function decayFactor(dt: number, halfLifeMs: number): number {
  return Math.pow(2, -dt / halfLifeMs);
}

/**
 * The score-time popularity prior of each candidate from its decayed count: log(1 + count) / log(1 + the largest
 * count), in [0, 1] whatever the traffic (all 0 when nothing was counted).
 */
export function popularityPrior(pop: Float32Array): Float32Array {
  let max = 0;
  for (const p of pop) max = Math.max(max, p);
  const scale = max > 0 ? 1 / Math.log1p(max) : 0;
  return pop.map((p) => Math.log1p(p) * scale);
}
