import type { ItemContent } from '../codec/index.js';
import { log } from '../ops/logger.js';

/** A content record the trainer must not learn from; its `reason` names the DLQ reason (the runner reads it). */
export class ContentRejected extends Error {
  constructor(
    readonly reason: 'non-finite-vector' | 'bad-vector-size',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks an ItemContent as it is decoded, so that a bad one is dead-lettered with its reason instead of only
 * being counted: a NaN or infinite value would poison every gradient step it reaches.
 */
export function checkedContent(c: ItemContent): ItemContent {
  if (c.dim <= 0 || c.vector.length !== c.dim * 4) throw new ContentRejected('bad-vector-size', `item ${c.item_id}: ${c.vector.length} vector bytes for dim ${c.dim}`);
  const v = new Float32Array(c.vector.buffer.slice(c.vector.byteOffset, c.vector.byteOffset + c.vector.length));
  const bad = v.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new ContentRejected('non-finite-vector', `item ${c.item_id}: value ${v[bad]} at position ${bad}`);
  return c;
}

/**
 * item_id -> frozen content vector, built from the compacted item-content topic and kept current.
 * All vectors share one dimension (the LM's); a record of another dimension is refused, not stored.
 */
export class ContentTable {
  private readonly vectors = new Map<string, Float32Array>();
  private dimension: number | undefined;
  private readonly dimWaiters: Array<(d: number) => void> = [];
  /** Items that got content since the last `takeArrived()`: the trainer releases their waiting events. */
  private arrived = new Set<string>();
  refused = 0;
  private readonly l = log('trainer.content');

  constructor(expectedDim?: number) {
    this.dimension = expectedDim;
  }

  get size(): number {
    return this.vectors.size;
  }

  get dim(): number | undefined {
    return this.dimension;
  }

  get(itemId: string): Float32Array | undefined {
    return this.vectors.get(itemId);
  }

  has(itemId: string): boolean {
    return this.vectors.has(itemId);
  }

  ids(): IterableIterator<string> {
    return this.vectors.keys();
  }

  /** Applies one record of the item-content topic; returns whether it was stored. */
  apply(itemId: string, c: ItemContent | null): boolean {
    if (c === null) {
      this.vectors.delete(itemId);
      return false;
    }
    if (c.vector.length !== c.dim * 4 || (this.dimension !== undefined && c.dim !== this.dimension)) {
      this.refused++;
      this.l.warn({ itemId, dim: c.dim, bytes: c.vector.length, expected: this.dimension }, 'content vector of the wrong size refused');
      return false;
    }
    const v = new Float32Array(c.vector.buffer.slice(c.vector.byteOffset, c.vector.byteOffset + c.vector.length));
    if (!v.every(Number.isFinite)) {
      this.refused++;
      this.l.warn({ itemId }, 'non-finite content vector refused');
      return false;
    }
    if (this.dimension === undefined) {
      this.dimension = c.dim;
      for (const w of this.dimWaiters.splice(0)) w(c.dim);
    }
    this.vectors.set(itemId, v);
    this.arrived.add(itemId);
    return true;
  }

  /** Resolves with the content dimension once known (at once when a vector is already stored). */
  firstDim(): Promise<number> {
    if (this.dimension !== undefined) return Promise.resolve(this.dimension);
    return new Promise((resolve) => this.dimWaiters.push(resolve));
  }

  takeArrived(): Set<string> {
    const a = this.arrived;
    this.arrived = new Set();
    return a;
  }
}
