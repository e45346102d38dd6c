// Item-to-item co-occurrence (item-kNN), the neighbourhood baseline: two items co-occur when one user interacts with
// both within a few steps of each other; an item's score for a user is its co-occurrence with the user's last few
// items, cosine-normalised by the items' interaction counts. Counts update as each event arrives (no training).

export interface ItemKnnOptions {
  /** An event co-occurs with this many of its user's previous items (distinct). */
  pairWindow: number;
  /** A user is scored from this many of their latest items (distinct). */
  queryItems: number;
}

export const DEFAULT_ITEM_KNN: ItemKnnOptions = { pairWindow: 20, queryItems: 5 };

export class ItemKnn {
  readonly options: ItemKnnOptions;
  /** item -> co-occurring item -> count (symmetric). */
  private readonly co = new Map<string, Map<string, number>>();
  private readonly counts = new Map<string, number>();
  /** Each user's latest items, oldest first, at most pairWindow of them. */
  private readonly recent = new Map<string, string[]>();

  constructor(options: ItemKnnOptions = DEFAULT_ITEM_KNN) {
    for (const [k, v] of Object.entries(options)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`item-kNN ${k} must be a positive integer, got ${v}`);
    }
    this.options = { ...options };
  }

  /** The interactions counted for an item. */
  count(itemId: string): number {
    return this.counts.get(itemId) ?? 0;
  }

  /** One event: the item co-occurs with its user's previous items (up to pairWindow distinct ones), then joins them. */
  observe(userId: string, itemId: string): void {
    let recent = this.recent.get(userId);
    if (!recent) this.recent.set(userId, (recent = []));
    const paired = new Set<string>([itemId]);
    for (let k = recent.length - 1; k >= 0; k--) {
      const j = recent[k] as string;
      if (paired.has(j)) continue;
      paired.add(j);
      this.bump(itemId, j);
      this.bump(j, itemId);
    }
    this.counts.set(itemId, this.count(itemId) + 1);
    const at = recent.indexOf(itemId);
    if (at >= 0) recent.splice(at, 1);
    recent.push(itemId);
    if (recent.length > this.options.pairWindow) recent.shift();
  }

  /** Cosine of two items' co-occurrence: co(a, b) / sqrt(count(a) * count(b)); 0 when either was never seen. */
  similarity(a: string, b: string): number {
    const c = this.co.get(a)?.get(b) ?? 0;
    return c === 0 ? 0 : c / Math.sqrt(this.count(a) * this.count(b));
  }

  /**
   * Scores of `candidates` (by index, see candidateIndex) for a user with `history` (oldest first): the sum of each
   * candidate's similarity to the history's last queryItems distinct items. Undefined for an empty history.
   */
  scores(history: readonly string[], candidates: ReadonlyMap<string, number>, n = candidates.size): Float32Array | undefined {
    if (history.length === 0) return undefined;
    const out = new Float32Array(n);
    const query = new Set<string>();
    for (let k = history.length - 1; k >= 0 && query.size < this.options.queryItems; k--) query.add(history[k] as string);
    for (const h of query) {
      const neighbours = this.co.get(h);
      if (!neighbours) continue;
      const ch = this.count(h);
      for (const [j, c] of neighbours) {
        const idx = candidates.get(j);
        if (idx !== undefined) out[idx] = (out[idx] as number) + c / Math.sqrt(ch * this.count(j));
      }
    }
    return out;
  }

  private bump(a: string, b: string): void {
    let m = this.co.get(a);
    if (!m) this.co.set(a, (m = new Map()));
    m.set(b, (m.get(b) ?? 0) + 1);
  }
}

/** Candidate ids -> their index, the form `ItemKnn.scores` reads. */
export function candidateIndex(ids: readonly string[]): Map<string, number> {
  return new Map(ids.map((id, i) => [id, i]));
}
