/**
 * A Map bounded to `capacity` entries that evicts the least recently used: `get` and `set` mark an entry used
 * (a Map keeps insertion order; a used entry is re-inserted at the end), `peek` and `has` do not.
 */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`LruMap capacity must be a positive integer, got ${capacity}`);
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined;
    const v = this.entries.get(key) as V;
    this.entries.delete(key);
    this.entries.set(key, v);
    return v;
  }

  /** Stores and marks used; returns the keys evicted to stay within capacity (least recently used first). */
  set(key: K, value: V): K[] {
    this.entries.delete(key);
    this.entries.set(key, value);
    const evicted: K[] = [];
    for (const k of this.entries.keys()) {
      if (this.entries.size <= this.capacity) break;
      this.entries.delete(k);
      evicted.push(k);
    }
    return evicted;
  }

  delete(key: K): boolean {
    return this.entries.delete(key);
  }
}
