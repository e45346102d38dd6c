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
 * Item ids interned to small integers, so a history holds 4 bytes an item instead of a string pointer. An id keeps
 * its number for the life of the table (and across checkpoints): the table grows with the distinct items seen.
 */
export class ItemIds {
  private readonly ids: string[];
  private readonly numbers = new Map<string, number>();

  constructor(ids: string[] = []) {
    this.ids = ids;
    ids.forEach((id, n) => this.numbers.set(id, n));
  }

  get size(): number {
    return this.ids.length;
  }

  /** The id's number, given one if it has none. */
  intern(id: string): number {
    let n = this.numbers.get(id);
    if (n === undefined) {
      n = this.ids.length;
      this.ids.push(id);
      this.numbers.set(id, n);
    }
    return n;
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
}
