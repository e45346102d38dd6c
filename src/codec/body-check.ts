// A bounds-checking walk over an Avro binary body, run before avsc decodes it.
// avsc trusts lengths and block counts: a forged array count of 2^31 makes it allocate and loop
// 2^31 times on a 30-byte message. This walk costs O(body bytes), rejects every count or length
// that the remaining bytes cannot hold, and tells truncation, trailing bytes and malformed
// encodings apart so the dead-letter reason is precise.
import { isUtf8 } from 'node:buffer';
import avsc, { type Type } from 'avsc';
import { CodecError } from './errors.js';

/** Cap on items that encode to zero bytes (arrays of null); such counts are not bounded by size. */
const MAX_ZERO_BYTE_ITEMS = 1 << 16;
const INT32_MAX_ZIGZAG = 0xffffffff;

class Cursor {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
  ) {
    this.pos = start;
  }
  remaining(): number {
    return this.buf.length - this.pos;
  }
  need(n: number, what: string): void {
    if (n > this.remaining()) throw new CodecError('truncated', `${what} needs ${n} bytes, ${this.remaining()} left`);
  }
  /** Zigzag varint; exact below 2^53, which is all any length or index may be. */
  varint(what: string, int32: boolean): number {
    let raw = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new CodecError('truncated', `body ends inside ${what}`);
      const b = this.buf[this.pos++] as number;
      raw += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) {
        if (int32 && raw > INT32_MAX_ZIGZAG) throw new CodecError('malformed-body', `${what} overflows int`);
        return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      }
    }
    throw new CodecError('malformed-body', `${what} varint longer than 10 bytes`);
  }
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }
}

/** Whether every value of `type` takes at least one byte (so a count can be bounded by size). */
function takesBytes(type: Type): boolean {
  if (type instanceof avsc.types.NullType) return false;
  if (type instanceof avsc.types.FixedType) return type.size > 0;
  if (type instanceof avsc.types.RecordType) return type.fields.some((f) => takesBytes(f.type));
  if (type instanceof avsc.types.LogicalType) return takesBytes(type.underlyingType);
  return true; // every other type writes at least a varint or a fixed-width number
}

function walk(type: Type, c: Cursor, path: string): void {
  const T = avsc.types;
  if (type instanceof T.NullType) return;
  if (type instanceof T.BooleanType) {
    c.need(1, path);
    if ((c.buf[c.pos++] as number) > 1) throw new CodecError('malformed-body', `${path}: boolean byte not 0 or 1`);
  } else if (type instanceof T.IntType) {
    c.varint(path, true);
  } else if (type instanceof T.LongType) {
    c.varint(path, false); // precision is avsc's call: it throws beyond 2^53, mapped to malformed-body
  } else if (type instanceof T.FloatType) {
    c.skip(4, path);
  } else if (type instanceof T.DoubleType) {
    c.skip(8, path);
  } else if (type instanceof T.BytesType) {
    c.skip(length(c, path), path);
  } else if (type instanceof T.StringType) {
    string(c, path);
  } else if (type instanceof T.FixedType) {
    c.skip(type.size, path);
  } else if (type instanceof T.EnumType) {
    const i = c.varint(path, true);
    if (i < 0 || i >= type.symbols.length) throw new CodecError('malformed-body', `${path}: enum index ${i} out of range`);
  } else if (type instanceof T.UnwrappedUnionType || type instanceof T.WrappedUnionType) {
    const i = c.varint(path, false);
    const branch = type.types[i];
    if (i < 0 || branch === undefined) throw new CodecError('malformed-body', `${path}: union index ${i} out of range`);
    walk(branch, c, path);
  } else if (type instanceof T.RecordType) {
    for (const f of type.fields) walk(f.type, c, path ? `${path}.${f.name}` : f.name);
  } else if (type instanceof T.ArrayType) {
    blocks(c, path, takesBytes(type.itemsType), (i) => walk(type.itemsType, c, `${path}[${i}]`));
  } else if (type instanceof T.MapType) {
    const values = type.valuesType as Type;
    blocks(c, path, true, (i) => {
      string(c, `${path}{key ${i}}`);
      walk(values, c, `${path}{${i}}`);
    });
  } else if (type instanceof T.LogicalType) {
    walk(type.underlyingType, c, path);
  } else {
    throw new CodecError('malformed-body', `${path}: unsupported Avro type ${type.typeName}`);
  }
}

function length(c: Cursor, path: string): number {
  const n = c.varint(`${path} length`, false);
  if (n < 0) throw new CodecError('malformed-body', `${path}: negative length ${n}`);
  return n;
}

function string(c: Cursor, path: string): void {
  const n = length(c, path);
  c.need(n, path);
  if (!isUtf8(c.buf.subarray(c.pos, c.pos + n))) throw new CodecError('malformed-body', `${path}: string is not UTF-8`);
  c.pos += n;
}

/** Array and map blocks: count, optional byte size when the count is negative, items; 0 ends. */
function blocks(c: Cursor, path: string, itemsTakeBytes: boolean, item: (index: number) => void): void {
  let index = 0;
  for (;;) {
    let count = c.varint(`${path} block count`, false);
    if (count === 0) return;
    if (count < 0) {
      count = -count;
      length(c, `${path} block`);
    }
    if (itemsTakeBytes ? count > c.remaining() : index + count > MAX_ZERO_BYTE_ITEMS) {
      throw new CodecError('truncated', `${path}: block of ${count} items cannot fit in ${c.remaining()} bytes`);
    }
    for (const end = index + count; index < end; index++) item(index);
  }
}

/** Throws a CodecError unless buf[start..] holds exactly one value of `type`. */
export function checkBody(type: Type, buf: Uint8Array, start: number): void {
  const c = new Cursor(buf, start);
  walk(type, c, '');
  if (c.pos !== buf.length) throw new CodecError('trailing-bytes', `${buf.length - c.pos} bytes after the value`);
}
