/**
 * Strings packed as UTF-8 bytes and per-string lengths in UTF-16 units: typed arrays a checkpoint stores as raw
 * bytes. UTF-16 lengths survive the round trip even for a lone surrogate (it comes back as U+FFFD, one unit too).
 */
export interface PackedStrings {
  bytes: Uint8Array;
  lengths: Uint32Array;
}

/** Packs strings in order: one joined string, encoded once (a million ids in tens of ms). */
export function packStrings(list: Iterable<string>, count: number): PackedStrings {
  const lengths = new Uint32Array(count);
  const all: string[] = new Array<string>(count);
  let i = 0;
  for (const s of list) {
    if (i >= count) break;
    all[i] = s;
    lengths[i++] = s.length;
  }
  if (i !== count) throw new Error(`packStrings: ${i} strings, ${count} expected`);
  const joined = Buffer.from(all.join(''), 'utf8');
  return { bytes: new Uint8Array(joined.buffer, joined.byteOffset, joined.byteLength), lengths };
}

/** The strings of `packStrings`, in order. */
export function unpackStrings(p: PackedStrings): string[] {
  const text = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength).toString('utf8');
  const out = new Array<string>(p.lengths.length);
  let at = 0;
  for (let i = 0; i < p.lengths.length; i++) {
    const n = p.lengths[i]!;
    out[i] = text.slice(at, at + n);
    at += n;
  }
  if (at !== text.length) throw new Error(`packed strings: ${text.length} units for lengths summing to ${at}`);
  return out;
}

/**
 * Item ids interned to small integers, so a history holds 4 bytes an item instead of a string pointer. Each number
 * counts the history entries holding it: one whose last entry goes (shifted out of a history, its user evicted) is
 * freed and handed to the next new id, so the table is bounded by the distinct items the histories hold, not by
 * every item ever seen. A number is kept while held (and across checkpoints: freed ones are stored as '').
 */
export class ItemIds {
  private readonly ids: string[];
  private readonly numbers = new Map<string, number>();
  private refs: Uint32Array;
  private readonly free: number[] = [];

  /** A table with these numbers, none held yet: the caller acquires what it holds, then calls `freeUnheld`. */
  constructor(ids: string[] = []) {
    this.ids = ids;
    ids.forEach((id, n) => this.numbers.set(id, n));
    this.refs = new Uint32Array(Math.max(1024, ids.length));
  }

  /** Distinct ids held. */
  get size(): number {
    return this.ids.length - this.free.length;
  }

  /** Numbers handed out, freed ones included. */
  get capacity(): number {
    return this.ids.length;
  }

  /** The id's number for one more entry holding it (a freed number, or a new one, if it has none). */
  acquire(id: string): number {
    let n = this.numbers.get(id);
    if (n === undefined) {
      n = this.free.pop() ?? this.ids.length;
      if (n === this.ids.length) this.ids.push(id);
      else this.ids[n] = id;
      this.numbers.set(id, n);
      if (n >= this.refs.length) {
        const grown = new Uint32Array(this.refs.length * 2);
        grown.set(this.refs);
        this.refs = grown;
      }
    }
    this.refs[n] = this.refs[n]! + 1;
    return n;
  }

  /** One entry holding number `n` is gone; the last one frees the number. */
  release(n: number): void {
    const held = this.refs[n] ?? 0;
    if (held === 0) throw new Error(`item id number ${n} released more often than acquired`);
    this.refs[n] = held - 1;
    if (held === 1) this.drop(n);
  }

  /** Counts one more entry for a number already in the table (restoring entries that hold it). */
  hold(n: number): void {
    if (n >= this.ids.length) throw new Error(`no item id numbered ${n}`);
    this.refs[n] = this.refs[n]! + 1;
  }

  /** Frees every number no entry holds (after restoring, with `hold` or `acquire` for each entry). */
  freeUnheld(): void {
    const freed = new Set(this.free);
    for (let n = this.ids.length - 1; n >= 0; n--) if (this.refs[n] === 0 && !freed.has(n)) this.drop(n);
  }

  idOf(n: number): string {
    const id = this.ids[n];
    if (id === undefined) throw new Error(`no item id numbered ${n}`);
    return id;
  }

  pack(): PackedStrings {
    return packStrings(this.ids, this.ids.length);
  }

  static unpack(p: PackedStrings): ItemIds {
    return new ItemIds(unpackStrings(p));
  }

  private drop(n: number): void {
    const id = this.ids[n]!;
    if (this.numbers.get(id) === n) this.numbers.delete(id);
    this.ids[n] = '';
    this.free.push(n);
  }
}
