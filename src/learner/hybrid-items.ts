import { hybridFloats, type ItemRef } from '../model/index.js';

/** The JSON part of the hybrid input's bookkeeping in a checkpoint: items in row order (row i + 1) and their counts. */
export interface HybridItemsSnapshot {
  items: string[];
  counts: number[];
}

/**
 * What the hybrid item input (src/model/item-input.ts, hybridResiduals) needs besides its table: each item's residual
 * row and its interactions trained on so far, n. An item gets a row at its first interaction (items seen only as
 * negatives take none), up to `maxRows`; later items keep content alone. Its gate is min(1, n / gateK): an item
 * trained on once reads 1/gateK of its residual, one with gateK interactions all of it. n counts what the model has
 * learned from (windows already trained), so it never includes the event being scored.
 */
export class HybridItems {
  private readonly rows = new Map<string, number>();
  private readonly counts: number[] = [];

  constructor(
    readonly gateK: number,
    readonly maxRows: number,
  ) {
    if (!(gateK > 0)) throw new RangeError(`gateK must be > 0, got ${gateK}`);
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows must be a positive integer, got ${maxRows}`);
  }

  static restore(s: HybridItemsSnapshot, gateK: number, maxRows: number): HybridItems {
    if (s.items.length !== s.counts.length) throw new Error(`hybrid items: ${s.items.length} items but ${s.counts.length} counts`);
    if (s.items.length > maxRows) throw new Error(`hybrid items: the checkpoint holds ${s.items.length} rows, more than LEARN_HYBRID_MAX_ITEMS ${maxRows}`);
    const h = new HybridItems(gateK, maxRows);
    s.items.forEach((id, i) => {
      h.rows.set(id, i + 1);
      h.counts.push(s.counts[i] as number);
    });
    return h;
  }

  /** Rows in use (the table must hold this many besides padding). */
  get size(): number {
    return this.rows.size;
  }

  /** Interactions trained on so far (0 for an item without a row). */
  interactions(itemId: string): number {
    const r = this.rows.get(itemId);
    return r === undefined ? 0 : (this.counts[r - 1] as number);
  }

  gate(itemId: string): number {
    return Math.min(1, this.interactions(itemId) / this.gateK);
  }

  /** One more interaction of each listed item (a row on its first while rows are left). */
  add(itemIds: Iterable<string>): void {
    for (const id of itemIds) {
      let r = this.rows.get(id);
      if (r === undefined) {
        if (this.rows.size >= this.maxRows) continue;
        r = this.rows.size + 1;
        this.rows.set(id, r);
        this.counts.push(0);
      }
      this.counts[r - 1] = (this.counts[r - 1] as number) + 1;
    }
  }

  /** The hybrid input's floats of an item: content, row, gate. */
  floatsOf(ref: ItemRef): Float32Array {
    const r = this.rows.get(ref.itemId);
    return r === undefined ? hybridFloats(ref.content, 0, 0) : hybridFloats(ref.content, r, this.gate(ref.itemId));
  }

  snapshot(): HybridItemsSnapshot {
    return { items: [...this.rows.keys()], counts: [...this.counts] };
  }
}
