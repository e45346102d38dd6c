// Reserved slots for cold items: the first LIST_SIZE - s places of a top-10 list go to the best-scored candidates,
// the last s to the best-scored cold candidates not already above them, and the rest of the ranking follows in score
// order. A serving practice for new items (a quota in the list) rather than a score change: the ranking of everything
// else is untouched, so overall recall loses at most what the last s places held.

/** The list the slots are reserved in: Recall@10 / NDCG@10 are the metrics the slots are meant for. */
export const SLOT_LIST_SIZE = 10;

/**
 * The 1-based position of `target` in the list with `slots` reserved places for cold candidates. `score(j)` ranks
 * every candidate, `slotScore(j)` the cold ones for the slots (default: the same score); `excluded[j]` = 1 drops j
 * (the target always competes); `cold(j)` marks the candidates the slots may take. Ties are pessimistic for the
 * target, as everywhere in the replay: an item scored equal to it stands ahead.
 */
export function rankWithColdSlots(
  score: (j: number) => number,
  n: number,
  target: number,
  excluded: Uint8Array,
  cold: (j: number) => boolean,
  slots: number,
  slotScore: (j: number) => number = score,
): number {
  // A NaN target ranks last (as in rankAt); any other NaN candidate ranks below every number.
  const s = score(target);
  const main = nanLast(score);
  const ahead = (j: number): boolean => Number.isNaN(s) || main(j) >= s;
  const slotTarget = slotScore(target);
  const inSlots = nanLast(slotScore);
  const aheadInSlots = (j: number): boolean => Number.isNaN(slotTarget) || inSlots(j) >= slotTarget;
  let rank = 1;
  for (let j = 0; j < n; j++) if (j !== target && excluded[j] !== 1 && ahead(j)) rank++;
  const open = SLOT_LIST_SIZE - slots;
  if (slots <= 0 || rank <= open) return rank;
  // The `open` best others, by score then index; the target is not among them (its rank is past `open`).
  const top = bestOf(n, open, (j) => j !== target && excluded[j] !== 1, main, target, ahead);
  const inTop = new Set(top);
  // The slots: the best cold candidates outside the open places, the target among them if it is cold.
  const slotted = bestOf(n, slots, (j) => !inTop.has(j) && (j === target || excluded[j] !== 1) && cold(j), inSlots, target, aheadInSlots);
  const at = slotted.indexOf(target);
  if (at >= 0) return open + at + 1;
  // Not in the list's head: slot items that scored below the target were moved ahead of it.
  return rank + slotted.filter((j) => !ahead(j)).length;
}

/** A score with NaN replaced by -Infinity: a total order for ranking. */
function nanLast(score: (j: number) => number): (j: number) => number {
  return (j) => {
    const x = score(j);
    return Number.isNaN(x) ? Number.NEGATIVE_INFINITY : x;
  };
}

/**
 * The `k` best indices among those `eligible`, best first: by score, and among equal scores the others before the
 * target (pessimistic ties), then by index.
 */
function bestOf(n: number, k: number, eligible: (j: number) => boolean, score: (j: number) => number, target: number, ahead: (j: number) => boolean): number[] {
  const best: number[] = [];
  if (k <= 0) return best;
  const before = (a: number, b: number): boolean => {
    if (a === target) return !ahead(b);
    if (b === target) return ahead(a);
    const sa = score(a);
    const sb = score(b);
    return sa > sb || (sa === sb && a < b);
  };
  for (let j = 0; j < n; j++) {
    if (!eligible(j)) continue;
    if (best.length === k && !before(j, best[k - 1] as number)) continue;
    let i = Math.min(best.length, k - 1);
    best[i] = j;
    while (i > 0 && before(j, best[i - 1] as number)) {
      best[i] = best[i - 1] as number;
      best[i - 1] = j;
      i--;
    }
  }
  return best;
}
