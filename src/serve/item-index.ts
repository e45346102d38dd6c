import type { VersionView } from '../store/reader.js';
import { decodeVectorInto } from '../codec/vector.js';
import { log } from '../ops/logger.js';
import { AnnIndex } from './ann-index.js';
import { topKInnerProduct } from './top-k.js';

const l = log('serve.item-index');

export interface ScoredItem {
  itemId: string;
  score: number;
}

const FETCH_BATCH = 1000;
/** Candidates asked of the HNSW graph (and of the popularity ranking) per request: this many, or 4k, plus the exclusions. */
const MIN_CANDIDATES = 100;

/** The served prior, already weighted: each counted item's prior by id, and the ids by falling prior. */
export interface WeightedPrior {
  weight: number;
  byId: ReadonlyMap<string, number>;
  ranked: readonly string[];
}

/**
 * All item vectors of ONE version in a dense Float32Array matrix, for exact top-K. It is filled from the
 * version's `items` index and kept fresh incrementally: each refresh loads only items whose revision grew
 * since the last one (new items, retrained vectors). A new version gets a new ItemIndex, never a mix.
 * From `annMinItems` items on it also keeps an HNSW graph (AnnIndex): top-K then re-ranks the graph's candidates
 * (and the most popular items, when a prior is added) exactly, instead of scanning every row.
 */
export class ItemIndex {
  private ids: string[] = [];
  private readonly rows = new Map<string, number>();
  private matrix: Float32Array;
  private revision = 0;
  private refreshing: Promise<number> | undefined;
  private ann: AnnIndex | undefined;
  private annBuilding: Promise<void> | undefined;
  /** Aborted by close(): an in-flight graph build is abandoned and no other starts. */
  private readonly closing = new AbortController();
  /** Rows whose vector changed, moved or went away (at or past the size) since the graph last saw them. */
  private readonly dirtyRows = new Set<number>();

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

  /** Whether top-K goes through the HNSW graph. */
  get approximate(): boolean {
    return this.ann !== undefined;
  }

  /**
   * Loads items changed since the last refresh, then brings the HNSW graph up to date when the index holds at least
   * `annMinItems` items (0: never); returns how many items were (re)loaded. One refresh at a time. A graph built from
   * scratch is awaited only with `waitForGraph` (an index not served yet); a served index goes on scanning exactly
   * until its graph is built in the background.
   */
  refresh(annMinItems = 0, waitForGraph = false): Promise<number> {
    this.refreshing ??= (async () => {
      const loaded = await this.load();
      const building = this.updateAnn(annMinItems);
      if (waitForGraph) await building;
      return loaded;
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * Abandons a graph build in flight (its thread terminated, its temporary file removed) so that it neither holds the
   * process nor writes a file after shutdown; no graph is built after this. The index still answers by full scan.
   */
  close(): void {
    this.closing.abort(new Error('item index closed'));
  }

  /**
   * The k best items by inner product with `query`, plus `prior.weight` times each item's prior from `prior.byId`
   * (0 for items without one). The prior is keyed by id, so rows moving under a refresh never misattribute it.
   */
  topK(query: Float32Array, k: number, exclude: ReadonlySet<string>, prior?: WeightedPrior): ScoredItem[] {
    if (this.ann) return this.topKApproximate(this.ann, query, k, exclude, prior);
    const skip = (row: number): boolean => exclude.has(this.ids[row] ?? '');
    const bias = prior && prior.weight > 0 ? Float32Array.from(this.ids, (id) => prior.weight * (prior.byId.get(id) ?? 0)) : undefined;
    return topKInnerProduct(this.matrix, this.ids.length, this.dim, query, k, skip, bias).map((s) => ({
      itemId: this.ids[s.index] ?? '',
      score: s.score,
    }));
  }

  /**
   * Exact scores of the graph's candidates, plus (with a prior) those of the most popular items, which the prior may
   * lift above items closer in inner product: the same score as the full scan, over fewer rows.
   */
  private topKApproximate(ann: AnnIndex, query: Float32Array, k: number, exclude: ReadonlySet<string>, prior?: WeightedPrior): ScoredItem[] {
    const want = Math.max(MIN_CANDIDATES, 4 * k) + exclude.size;
    const rows = new Set<number>();
    for (const row of ann.candidates(query, want)) if (row < this.ids.length) rows.add(row);
    const weight = prior && prior.weight > 0 ? prior.weight : 0;
    if (prior && weight > 0) {
      let added = 0;
      for (const id of prior.ranked) {
        if (added >= want) break;
        const row = this.rows.get(id);
        if (row !== undefined) {
          rows.add(row);
          added++;
        }
      }
    }
    const scored: Array<ScoredItem & { row: number }> = [];
    for (const row of rows) {
      const itemId = this.ids[row] ?? '';
      if (exclude.has(itemId)) continue;
      let s = weight > 0 ? weight * (prior?.byId.get(itemId) ?? 0) : 0;
      const base = row * this.dim;
      for (let j = 0; j < this.dim; j++) s += (this.matrix[base + j] ?? 0) * (query[j] ?? 0);
      scored.push({ itemId, score: s, row });
    }
    // Ties go to the earlier row, as in the full scan.
    scored.sort((a, b) => b.score - a.score || a.row - b.row);
    return scored.slice(0, k).map(({ itemId, score }) => ({ itemId, score }));
  }

  /** Applies changed rows to the graph, or starts building it (resolved when built). */
  private updateAnn(annMinItems: number): Promise<void> {
    const n = this.ids.length;
    if (annMinItems <= 0 || n < annMinItems) {
      // Below the threshold (items delisted, say) the exact scan is cheap again.
      this.ann = undefined;
      this.dirtyRows.clear();
      return this.annBuilding ?? Promise.resolve();
    }
    if (this.annBuilding) return this.annBuilding;
    if (!this.ann) {
      if (this.closing.signal.aborted) return Promise.resolve();
      const started = Date.now();
      // Rows changed while the graph is built stay dirty and are applied by the next refresh.
      this.dirtyRows.clear();
      const { signal } = this.closing;
      this.annBuilding = AnnIndex.build(this.matrix.slice(0, n * this.dim), n, this.dim, signal)
        .then(({ ann, buildMs, loadMs }) => {
          this.ann = ann;
          l.info({ version: this.version, items: n, ms: Date.now() - started, buildMs, loadMs }, 'built the HNSW item graph');
        })
        .catch((err: unknown) => {
          if (signal.aborted) l.info({ version: this.version }, 'abandoned the HNSW item graph build: index closed');
          else l.error({ err, version: this.version }, 'building the HNSW item graph failed: scanning every item');
        })
        .finally(() => {
          this.annBuilding = undefined;
        });
      return this.annBuilding;
    }
    for (const row of this.dirtyRows) {
      if (row < n) this.ann.upsert(row, this.matrix.subarray(row * this.dim, (row + 1) * this.dim));
      else this.ann.remove(row);
    }
    this.dirtyRows.clear();
    return Promise.resolve();
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
        const row = this.rowFor(id);
        decodeVectorInto(b, this.matrix, row * this.dim);
        this.dirtyRows.add(row);
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
    // The moved row holds another vector now, and the last row is gone.
    this.dirtyRows.add(row);
    this.dirtyRows.add(last);
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
