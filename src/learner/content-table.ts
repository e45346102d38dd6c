import type { ItemContent } from '../codec/index.js';
import { decodeVector } from '../codec/vector.js';
import type { ItemRef, NegativePool } from '../model/index.js';
import { log } from '../ops/logger.js';
import { LruMap } from '../ops/lru-map.js';
import { modelNameOfId } from '../encoder/model-spec.js';

/** A content record the trainer must not learn from; its `reason` names the DLQ reason (the runner reads it). */
export class ContentRejected extends Error {
  constructor(
    readonly reason: 'non-finite-vector' | 'bad-vector-size' | 'other-model',
    message: string,
  ) {
    super(message);
  }
}

/**
 * item_id -> frozen content vector, built from the compacted item-content topic and kept current.
 * All vectors share one dimension (the LM's); a record of another dimension is refused, not stored.
 * It is also the pool the trainer samples catalogue negatives from (random access by position).
 * Bounded to `maxItems` (LEARN_MAX_ITEMS): past it the least recently used item (stored, or asked for by `has`/`get`,
 * which the intake and training do for every event) is dropped; its later events wait for content like any
 * unknown item's (DLQ no-content unless it is listed again). Sampling negatives does not count as a use.
 */
export class ContentTable implements NegativePool {
  private readonly vectors = new Map<string, Float32Array>();
  /** Item ids in a dense array (and each id's position) for O(1) uniform sampling; deletes swap the last id in. */
  private readonly order: string[] = [];
  private readonly position = new Map<string, number>();
  private dimension: number | undefined;
  private readonly dimWaiters: Array<(d: number) => void> = [];
  /** Items that got content since the last `takeArrived()`: the trainer releases their waiting events. */
  private arrived = new Set<string>();
  /** Item ids by last use, for eviction (the vectors map keeps its own order: the replay iterates it). */
  private readonly recency: LruMap<string, true>;
  /** Items dropped past maxItems. */
  evicted = 0;
  private readonly l = log('trainer.content');

  /**
   * @param model the pipeline's model name (LEARN_MODEL's, see encoder/model-spec.ts): content encoded by another model
   * lies in another embedding space, even at the same dimension, and is refused; undefined accepts any.
   */
  constructor(expectedDim?: number, maxItems = Number.MAX_SAFE_INTEGER, private readonly model?: string) {
    this.dimension = expectedDim;
    this.recency = new LruMap(maxItems);
  }

  get size(): number {
    return this.vectors.size;
  }

  get dim(): number | undefined {
    return this.dimension;
  }

  get(itemId: string): Float32Array | undefined {
    this.recency.get(itemId);
    return this.vectors.get(itemId);
  }

  has(itemId: string): boolean {
    return this.recency.get(itemId) !== undefined;
  }

  ids(): IterableIterator<string> {
    return this.vectors.keys();
  }

  /** The item at a position in [0, size): with a uniform index, a uniformly drawn catalogue item. */
  at(index: number): ItemRef {
    const itemId = this.order[index];
    if (itemId === undefined) throw new RangeError(`content table position ${index} is outside 0..${this.order.length - 1}`);
    return { itemId, content: this.vectors.get(itemId) as Float32Array };
  }

  /**
   * Applies one record of the item-content topic; returns whether the table changed: a vector stored, or (a
   * tombstone, the item delisted) an item removed. A vector the table cannot hold
   * (another dimension than the table's, a length that is not dim floats, a non-finite value) throws
   * ContentRejected, which the table follower dead-letters with its reason.
   */
  apply(itemId: string, c: ItemContent | null): boolean {
    if (c === null) return this.remove(itemId);
    if (this.model !== undefined && modelNameOfId(c.model_id) !== this.model) {
      this.l.warn({ itemId, modelId: c.model_id, expected: this.model }, 'content vector of another model refused');
      throw new ContentRejected('other-model', `item ${itemId}: encoded by ${c.model_id}, the pipeline's model is ${this.model} (LEARN_MODEL): re-encode it, or train a new state for the new model`);
    }
    if (c.vector.length !== c.dim * 4 || (this.dimension !== undefined && c.dim !== this.dimension)) {
      this.l.warn({ itemId, dim: c.dim, bytes: c.vector.length, expected: this.dimension }, 'content vector of the wrong size refused');
      throw new ContentRejected('bad-vector-size', `item ${itemId}: dim ${c.dim} with ${c.vector.length} vector bytes; the content table holds dim ${this.dimension ?? c.dim}`);
    }
    const v = decodeVector(c.vector);
    if (!v.every(Number.isFinite)) {
      this.l.warn({ itemId }, 'non-finite content vector refused');
      throw new ContentRejected('non-finite-vector', `item ${itemId}: non-finite value in its content vector`);
    }
    if (this.dimension === undefined) {
      this.dimension = c.dim;
      for (const w of this.dimWaiters.splice(0)) w(c.dim);
    }
    if (!this.vectors.has(itemId)) {
      this.position.set(itemId, this.order.length);
      this.order.push(itemId);
    }
    this.vectors.set(itemId, v);
    this.arrived.add(itemId);
    for (const dropped of this.recency.set(itemId, true)) {
      this.remove(dropped);
      // Not arrived after all: its waiting events must keep waiting, not enter a window without content.
      this.arrived.delete(dropped);
      this.evicted++;
    }
    if (this.evicted > 0 && this.evicted % 10_000 === 1) this.l.warn({ evicted: this.evicted, maxItems: this.recency.capacity }, 'content table full: least recently used items dropped (LEARN_MAX_ITEMS)');
    return true;
  }

  private remove(itemId: string): boolean {
    const at = this.position.get(itemId);
    if (at === undefined) return false;
    const last = this.order.pop() as string;
    if (last !== itemId) {
      this.order[at] = last;
      this.position.set(last, at);
    }
    this.position.delete(itemId);
    this.vectors.delete(itemId);
    this.recency.delete(itemId);
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
