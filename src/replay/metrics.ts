// Ranking metrics for test-then-train replay: each event has one held-out target item, scored among the
// candidates before the model trains on it. Everything here works from the target's 1-based rank.
//
// A rank of Infinity means "not ranked" (e.g. the target had no vector yet): a miss on every metric.

function checkRank(rank: number): void {
  if (!(rank === Number.POSITIVE_INFINITY || (Number.isInteger(rank) && rank >= 1))) {
    throw new RangeError(`rank must be an integer >= 1 or Infinity, got ${rank}`);
  }
}

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`K must be an integer >= 1, got ${k}`);
}

/** Recall@K with one target: 1 when it ranks in the top K, else 0. */
export function recallAtK(rank: number, k: number): number {
  checkRank(rank);
  checkK(k);
  return rank <= k ? 1 : 0;
}

/** NDCG@K with one target: the ideal DCG is 1, so it is 1/log2(rank + 1) inside the top K, else 0. */
export function ndcgAtK(rank: number, k: number): number {
  checkRank(rank);
  checkK(k);
  return rank <= k ? 1 / Math.log2(rank + 1) : 0;
}

/** Reciprocal rank, 1/rank (its mean over events is MRR). Not cut off at K. */
export function reciprocalRank(rank: number): number {
  checkRank(rank);
  return 1 / rank;
}

/**
 * The 1-based rank of `scores[targetIndex]` among the candidates not in `excluded` (e.g. items the user
 * already had). Ties are broken pessimistically: every other candidate with an equal score ranks ahead of
 * the target, so a model that scores everything alike earns the worst rank, not the best. The target itself
 * always competes, even if `excluded` holds it. A NaN target score ranks last; NaN candidates never rank ahead.
 */
export function rankOf(scores: Float32Array, targetIndex: number, excluded: ReadonlySet<number> = new Set()): number {
  if (!Number.isInteger(targetIndex) || targetIndex < 0 || targetIndex >= scores.length) {
    throw new RangeError(`targetIndex ${targetIndex} is outside 0..${scores.length - 1}`);
  }
  const s = scores[targetIndex] as number;
  const targetIsNaN = Number.isNaN(s);
  let ahead = 0;
  for (let j = 0; j < scores.length; j++) {
    if (j === targetIndex || excluded.has(j)) continue;
    // `x >= s` is false for a NaN x, so NaN candidates never rank ahead of a real score.
    if (targetIsNaN || (scores[j] as number) >= s) ahead++;
  }
  return 1 + ahead;
}
