// The leave-one-out protocol of the sequential-recommendation literature (and of the LEARN paper): each user's last
// item is the test target, the one before it the validation target, the rest training. Ranking is full, over every
// item of the catalogue (no sampled negatives, no items masked), and metrics are Recall@K and NDCG@K.
import type { UserSequence } from '../data/sequences.js';

export const LOO_KS = [10, 20] as const;

/** One user's split. */
export interface LooUser {
  userId: string;
  /** Every item but the last two, oldest first. */
  train: string[];
  valid: string;
  test: string;
}

/** Users with at least three items, split; shorter ones cannot give a training item, a validation and a test. */
export function looSplit(users: readonly UserSequence[]): LooUser[] {
  return users.flatMap((u) =>
    u.items.length < 3 ? [] : [{ userId: u.userId, train: u.items.slice(0, -2), valid: u.items.at(-2) as string, test: u.items.at(-1) as string }],
  );
}

/** The history each phase ranks from: the training items for validation, those and the validation item for test. */
export function phaseHistory(u: LooUser, phase: 'valid' | 'test'): string[] {
  return phase === 'valid' ? u.train : [...u.train, u.valid];
}

/** Next-item training examples of a training sequence: each prefix (its last `maxHistory` items) and the item after it. */
export function nextItemExamples(users: readonly LooUser[], maxHistory: number): { history: string[]; target: string }[] {
  return users.flatMap((u) => u.train.slice(1).map((target, t) => ({ history: u.train.slice(Math.max(0, t + 1 - maxHistory), t + 1), target })));
}

/**
 * 1-based rank of the target among every item: 1 + the items scored above it + the items scored equal to it that
 * come earlier in the catalogue (ties broken by catalogue order, the same for every method).
 */
export function rankOf(scores: Float32Array, target: number): number {
  // A target outside the catalogue (no content) is a miss.
  if (!(target >= 0 && target < scores.length)) return scores.length + 1;
  const s = scores[target] as number;
  if (Number.isNaN(s)) return scores.length;
  let rank = 1;
  for (let j = 0; j < scores.length; j++) {
    const v = scores[j] as number;
    if (v > s || (v === s && j < target)) rank++;
  }
  return rank;
}

export interface LooMetrics {
  users: number;
  recall10: number;
  recall20: number;
  ndcg10: number;
  ndcg20: number;
}

/** Mean Recall@K and NDCG@K (one relevant item: NDCG = 1 / log2(rank + 1) within K) over ranks. */
export function looMetrics(ranks: readonly number[]): LooMetrics {
  const n = Math.max(1, ranks.length);
  const recall = (k: number): number => ranks.filter((r) => r <= k).length / n;
  const ndcg = (k: number): number => ranks.reduce((s, r) => s + (r <= k ? 1 / Math.log2(r + 1) : 0), 0) / n;
  return { users: ranks.length, recall10: recall(10), recall20: recall(20), ndcg10: ndcg(10), ndcg20: ndcg(20) };
}

/** Mean, sample standard deviation and the 95% t-interval of the mean over seeds. */
export interface Spread {
  mean: number;
  sd: number;
  ci95: [number, number];
  values: number[];
}

// Two-sided 97.5% quantiles of Student's t for 1..9 degrees of freedom (more seeds: the normal's 1.96 is close enough).
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262];

export function spread(values: readonly number[]): Spread {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / Math.max(1, n);
  const sd = n > 1 ? Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
  const half = n > 1 ? (T975[n - 2] ?? 1.96) * (sd / Math.sqrt(n)) : 0;
  return { mean, sd, ci95: [mean - half, mean + half], values: [...values] };
}
