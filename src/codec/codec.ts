// encode/decode of the three records as Avro single-object messages.
// Writers always use the newest schema version; readers accept any known version of the
// requested record and resolve it into the newest one.
import avsc, { type Type } from 'avsc';
import { checkBody } from './body-check.js';
import { CodecError } from './errors.js';
import { fingerprintHex } from './rabin.js';
import type { RecordName, RecordTypes } from './records.js';
import { SchemaRegistry, type SchemaVersion } from './registry.js';
import { HEADER_LENGTH, header, readFingerprint } from './single-object.js';

type Resolver = ReturnType<Type['createResolver']>;

/** Longest rendering of an offending value kept in an error message (messages end up in headers). */
const MAX_SHOWN = 80;

export class AvroCodec {
  private readonly headers = new Map<SchemaVersion, Buffer>();
  /** Per writer version: how to read it as the current reader (null when writer is the reader). */
  private readonly resolvers = new Map<SchemaVersion, Resolver | null>();

  constructor(readonly registry: SchemaRegistry) {}

  /** Encodes with the current schema of `record`. Throws CodecError `invalid-value` naming the field. */
  encode<R extends RecordName>(record: R, value: RecordTypes[R]): Buffer {
    return this.encodeWith(this.registry.current(record), value);
  }

  /** Encodes with a given (possibly older) version, as an old producer would. */
  encodeWith(writer: SchemaVersion, value: unknown): Buffer {
    const problems: string[] = [];
    const ok = writer.type.isValid(value, {
      noUndeclaredFields: true,
      errorHook: (path, val, type) => problems.push(describe(path, val, type)),
    });
    if (!ok) throw new CodecError('invalid-value', `${writer.record} ${problems.join('; ') || 'does not match schema'}`);
    let head = this.headers.get(writer);
    if (!head) {
      head = header(writer.fingerprint);
      this.headers.set(writer, head);
    }
    return Buffer.concat([head, writer.type.toBuffer(value)]);
  }

  /** The schema version that wrote `bytes` (header checks only). */
  writerOf(bytes: Uint8Array): SchemaVersion {
    const fp = readFingerprint(bytes);
    const writer = this.registry.byFingerprint(fp);
    if (!writer) throw new CodecError('unknown-fingerprint', `no schema with fingerprint ${fingerprintHex(fp)}`);
    return writer;
  }

  /**
   * Decodes a single-object message written with any known version of `record`, as the current
   * version of it. Throws only CodecError.
   */
  decode<R extends RecordName>(record: R, bytes: Uint8Array): RecordTypes[R] {
    const writer = this.writerOf(bytes);
    if (writer.record !== record) {
      throw new CodecError(
        'wrong-record',
        `expected ${record}, fingerprint ${fingerprintHex(writer.fingerprint)} is ${writer.file}`,
      );
    }
    checkBody(writer.type, bytes, HEADER_LENGTH);
    const reader = this.registry.current(record);
    const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    let decoded: { value: unknown; offset: number };
    try {
      decoded = reader.type.decode(buf, HEADER_LENGTH, this.resolver(writer, reader) ?? undefined);
    } catch (err) {
      throw new CodecError('malformed-body', `${writer.file}: ${(err as Error).message}`, { cause: err });
    }
    // checkBody already proved the extent; this guards against the two walks ever disagreeing.
    if (decoded.offset < 0) throw new CodecError('truncated', `${writer.file}: body ends inside the value`);
    if (decoded.offset !== buf.length) {
      throw new CodecError('trailing-bytes', `${buf.length - decoded.offset} bytes after the value`);
    }
    return decoded.value as RecordTypes[R];
  }

  private resolver(writer: SchemaVersion, reader: SchemaVersion): Resolver | null {
    let r = this.resolvers.get(writer);
    if (r === undefined) {
      // The registry checked at load that the current version reads every older one.
      r = writer === reader ? null : reader.type.createResolver(writer.type);
      this.resolvers.set(writer, r);
    }
    return r;
  }
}

function describe(path: string[], val: unknown, type: Type): string {
  const where = path.join('.') || '(root)';
  if (type instanceof avsc.types.RecordType && val !== null && typeof val === 'object') {
    const declared = new Set(type.fields.map((f) => f.name));
    const extra = Object.keys(val).filter((k) => !declared.has(k));
    if (extra.length > 0) return `${where}: undeclared field(s) ${extra.join(', ')}`;
  }
  return `${where}: ${show(val)} is not ${type.name ?? type.typeName}`;
}

function show(val: unknown): string {
  let text: string;
  if (val === undefined) text = 'undefined';
  else if (Buffer.isBuffer(val)) text = `<${val.length} bytes>`;
  else {
    try {
      text = JSON.stringify(val) ?? String(val);
    } catch {
      text = String(val);
    }
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}...` : text;
}

let shared: AvroCodec | undefined;

/** The process-wide codec over schemas/ (loaded on first use). */
export function defaultCodec(): AvroCodec {
  shared ??= new AvroCodec(SchemaRegistry.loadDir());
  return shared;
}

/** Encodes `value` with the current schema of `record` into a single-object message. */
export function encode<R extends RecordName>(record: R, value: RecordTypes[R]): Buffer {
  return defaultCodec().encode(record, value);
}

/** Decodes a single-object message of `record` (any known writer version) as its current version. */
export function decode<R extends RecordName>(record: R, bytes: Uint8Array): RecordTypes[R] {
  return defaultCodec().decode(record, bytes);
}
