import type { VersionView } from '../store/reader.js';
import { decodeVectorInto } from '../codec/vector.js';
import { topKInnerProduct } from './top-k.js';

export interface ScoredItem {
  itemId: string;
  score: number;
}

const FETCH_BATCH = 1000;

/**
 * All item vectors of ONE version in a dense Float32Array matrix, for exact top-K. It is filled from the
 * version's `items` index and kept fresh incrementally: each refresh loads only items whose revision grew
 * since the last one (new items, retrained vectors). A new version gets a new ItemIndex, never a mix.
 */
export class ItemIndex {
  private ids: string[] = [];
  private readonly rows = new Map<string, number>();
  private matrix: Float32Array;
  private revision = 0;
  private refreshing: Promise<number> | undefined;

  constructor(readonly view: VersionView) {
    this.matrix = new Float32Array(view.dim * 1024);
  }

  get version(): number {
    return this.view.version;
  }

  get dim(): number {
    return this.view.dim;
  }

  get size(): number {
    return this.ids.length;
  }

  has(itemId: string): boolean {
    return this.rows.has(itemId);
  }

  /** A copy of one item's vector, or undefined when the index has not loaded it. */
  vector(itemId: string): Float32Array | undefined {
    const row = this.rows.get(itemId);
    return row === undefined ? undefined : this.matrix.slice(row * this.dim, (row + 1) * this.dim);
  }

  /** Loads items changed since the last refresh; returns how many were (re)loaded. One refresh at a time. */
  refresh(): Promise<number> {
    this.refreshing ??= this.load().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * The k best items by inner product with `query`, plus `prior.weight` times each item's prior from `prior.byId`
   * (0 for items without one). The prior is keyed by id, so rows moving under a refresh never misattribute it.
   */
  topK(query: Float32Array, k: number, exclude: ReadonlySet<string>, prior?: { weight: number; byId: ReadonlyMap<string, number> }): ScoredItem[] {
    const skip = (row: number): boolean => exclude.has(this.ids[row] ?? '');
    const bias = prior && prior.weight > 0 ? Float32Array.from(this.ids, (id) => prior.weight * (prior.byId.get(id) ?? 0)) : undefined;
    return topKInnerProduct(this.matrix, this.ids.length, this.dim, query, k, skip, bias).map((s) => ({
      itemId: this.ids[s.index] ?? '',
      score: s.score,
    }));
  }

  private async load(): Promise<number> {
    let loaded = 0;
    for (;;) {
      const changes = await this.view.itemsChangedSince(this.revision, FETCH_BATCH);
      if (changes.ids.length === 0) break;
      const bytes = await this.view.itemVectorBytes(changes.ids);
      changes.ids.forEach((id, j) => {
        const b = bytes[j];
        // A changed item without bytes was delisted (or the version is expiring under us, and its successor's
        // index takes over): it is no longer served.
        if (!b || b.length !== this.dim * 4) {
          this.removeRow(id);
          return;
        }
        decodeVectorInto(b, this.matrix, this.rowFor(id) * this.dim);
        loaded++;
      });
      this.revision = changes.revision;
      if (changes.ids.length < FETCH_BATCH) break;
    }
    return loaded;
  }

  /** Moves the last row into the removed one's place. */
  private removeRow(id: string): void {
    const row = this.rows.get(id);
    if (row === undefined) return;
    const last = this.ids.length - 1;
    const lastId = this.ids[last]!;
    if (row !== last) {
      this.matrix.copyWithin(row * this.dim, last * this.dim, (last + 1) * this.dim);
      this.ids[row] = lastId;
      this.rows.set(lastId, row);
    }
    this.ids.pop();
    this.rows.delete(id);
  }

  private rowFor(id: string): number {
    const known = this.rows.get(id);
    if (known !== undefined) return known;
    const row = this.ids.length;
    if ((row + 1) * this.dim > this.matrix.length) {
      const bigger = new Float32Array(this.matrix.length * 2);
      bigger.set(this.matrix);
      this.matrix = bigger;
    }
    this.ids.push(id);
    this.rows.set(id, row);
    return row;
  }
}
