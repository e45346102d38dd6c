/** Strings packed as UTF-8 bytes and per-string byte lengths: typed arrays a checkpoint stores as raw bytes. */
export interface PackedStrings {
  bytes: Uint8Array;
  lengths: Uint32Array;
}

/** Packs strings in order (one pass, no joined string). */
export function packStrings(list: Iterable<string>, count: number): PackedStrings {
  const lengths = new Uint32Array(count);
  let buf = Buffer.allocUnsafe(Math.max(1024, count * 16));
  let at = 0;
  let i = 0;
  for (const s of list) {
    // A UTF-16 unit takes at most 3 UTF-8 bytes.
    if (at + s.length * 3 > buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, at + s.length * 3));
      buf.copy(bigger, 0, 0, at);
      buf = bigger;
    }
    const n = buf.write(s, at, 'utf8');
    lengths[i++] = n;
    at += n;
  }
  if (i !== count) throw new Error(`packStrings: ${i} strings, ${count} expected`);
  return { bytes: new Uint8Array(buf.subarray(0, at)), lengths };
}

/** The strings of `packStrings`, in order. */
export function unpackStrings(p: PackedStrings): string[] {
  const buf = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
  const out = new Array<string>(p.lengths.length);
  let at = 0;
  for (let i = 0; i < p.lengths.length; i++) {
    const n = p.lengths[i]!;
    out[i] = buf.toString('utf8', at, at + n);
    at += n;
  }
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
