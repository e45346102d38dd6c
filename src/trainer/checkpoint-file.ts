import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { NamedArrays } from '../model/index.js';
import { faultPoint } from '../ops/fault-injection.js';

/** Version 1: the whole state in the one JSON header (read only: past V8's string limit it cannot be written). */
const MAGIC_V1 = Buffer.from('LRNCKPT1');
/** Version 2: a small header, the float arrays, then the state as JSON lines of bounded size (read only). */
const MAGIC_V2 = Buffer.from('LRNCKPT2');
/** Version 3: as 2, with the state's typed arrays (compact histories) as raw bytes after the float arrays. */
const MAGIC = Buffer.from('LRNCKPT3');
/** Elements of one array per state line: with the trainer's histories, lines of about a megabyte at most. */
const ELEMENTS_PER_LINE = 1000;
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
const CHECKPOINT_FILE = /^ckpt-(\d{12})\.bin$/;

/**
 * A checkpoint: JSON-able state plus named float arrays (weights, optimizer moments) stored as raw bytes. Typed
 * arrays that are values of the state's object keys are stored as raw bytes too (and come back as such).
 */
export interface Checkpoint<S> {
  seq: number;
  state: S;
  arrays: NamedArrays;
}

interface HeaderV1<S> {
  seq: number;
  state: S;
  arrays: ArrayMeta[];
}

interface Header {
  seq: number;
  arrays: ArrayMeta[];
  /** Typed arrays taken out of the state (absent in version 2), in file order; the state holds `{ $bin: index }`. */
  blobs?: BlobMeta[];
}

const BLOB_TYPES = { Uint8Array, Uint16Array, Uint32Array, Int32Array, Float32Array, Float64Array } as const;
type BlobType = keyof typeof BLOB_TYPES;
type Blob = InstanceType<(typeof BLOB_TYPES)[BlobType]>;

interface BlobMeta {
  type: BlobType;
  bytes: number;
}

interface ArrayMeta {
  name: string;
  shape: number[];
  length: number;
}

/**
 * One line of the state: `v` sets the value at path `p` (an empty path is the root), `a` appends elements to the
 * array there; the last line, `end`, counts the lines before it (a cut file fails the count).
 */
type StateLine = { p: string[]; v?: unknown; a?: unknown[] } | { end: number };

const isPlainObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x);

/** The state as lines: objects key by key, long arrays a bounded number of elements per line. */
function* stateLines(value: unknown, path: string[] = []): Generator<string> {
  if (Array.isArray(value) && value.length > ELEMENTS_PER_LINE) {
    yield JSON.stringify({ p: path, v: [] });
    for (let i = 0; i < value.length; i += ELEMENTS_PER_LINE) yield JSON.stringify({ p: path, a: value.slice(i, i + ELEMENTS_PER_LINE) });
  } else if (isPlainObject(value)) {
    yield JSON.stringify({ p: path, v: {} });
    for (const [k, v] of Object.entries(value)) yield* stateLines(v, [...path, k]);
  } else {
    yield JSON.stringify({ p: path, v: value });
  }
}

/** Rebuilds the state from its lines, in order. */
class StateAssembler {
  root: unknown;
  lines = 0;
  ended = false;

  apply(text: string): void {
    if (this.ended) throw new Error('state line after the end line');
    const line = JSON.parse(text) as StateLine;
    if ('end' in line) {
      if (line.end !== this.lines) throw new Error(`state has ${this.lines} lines, the end line says ${line.end}`);
      this.ended = true;
      return;
    }
    this.lines++;
    if (line.p.length === 0) {
      this.root = line.v;
      return;
    }
    let parent = this.root;
    for (const k of line.p.slice(0, -1)) parent = (parent as Record<string, unknown>)[k];
    if (!isPlainObject(parent)) throw new Error(`state path ${line.p.join('.')} has no parent object`);
    const key = line.p[line.p.length - 1]!;
    if (line.a !== undefined) {
      const target = parent[key];
      if (!Array.isArray(target)) throw new Error(`state path ${line.p.join('.')} is not an array`);
      for (const x of line.a) target.push(x);
    } else if ('v' in line) {
      parent[key] = line.v;
    }
  }
}

/** Writes through a buffer of a few megabytes: one syscall per chunk, never one string of the whole file. */
class FileWriter {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly fd: number) {}

  write(b: Buffer | Uint8Array | string): void {
    const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
    this.parts.push(buf as Buffer);
    this.size += buf.byteLength;
    if (this.size >= READ_CHUNK_BYTES) this.flush();
  }

  flush(): void {
    for (const p of this.parts) for (let at = 0; at < p.byteLength; ) at += writeSync(this.fd, p, at);
    this.parts = [];
    this.size = 0;
  }
}

const isBlob = (x: unknown): x is Blob => ArrayBuffer.isView(x) && x.constructor.name in BLOB_TYPES;

/** The state with its typed arrays (values of object keys) replaced by `{ $bin: index }`, and those arrays in order. */
function extractBlobs(value: unknown, blobs: Blob[]): unknown {
  if (isBlob(value)) {
    blobs.push(value);
    return { $bin: blobs.length - 1 };
  }
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, extractBlobs(v, blobs)]));
}

/** Puts the typed arrays back where `extractBlobs` took them from (in place). */
function resolveBlobs(value: unknown, blobs: Blob[]): unknown {
  if (!isPlainObject(value)) return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === '$bin' && typeof value.$bin === 'number') {
    const blob = blobs[value.$bin];
    if (!blob) throw new Error(`state refers to missing binary ${value.$bin}`);
    return blob;
  }
  for (const k of keys) value[k] = resolveBlobs(value[k], blobs);
  return value;
}

export const checkpointPath = (dir: string, seq: number): string => join(dir, `ckpt-${String(seq).padStart(12, '0')}.bin`);

/** Sequence numbers of the checkpoint files in `dir`, oldest first. */
export function checkpointSeqs(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => CHECKPOINT_FILE.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

const bytesOf = (v: ArrayBufferView): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

/**
 * Writes a checkpoint atomically: a temporary file, fsync, rename, fsync of the folder; then deletes all but the
 * newest `keep`. The state is written as lines of bounded size (so it may grow past what one JavaScript string can
 * hold), its typed arrays as raw bytes. A reader sees either the old or the new file, never a torn one.
 */
export function writeCheckpointFile<S>(dir: string, keep: number, c: Checkpoint<S>): void {
  const names = Object.keys(c.arrays).sort();
  const blobs: Blob[] = [];
  const state = extractBlobs(c.state, blobs);
  const header: Header = {
    seq: c.seq,
    arrays: names.map((name) => ({ name, shape: c.arrays[name]!.shape, length: c.arrays[name]!.values.length })),
    blobs: blobs.map((b) => ({ type: b.constructor.name as BlobType, bytes: b.byteLength })),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(headerBytes.length);
  const file = checkpointPath(dir, c.seq);
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    const out = new FileWriter(fd);
    for (const part of [MAGIC, len, headerBytes]) out.write(part);
    for (const name of names) out.write(bytesOf(c.arrays[name]!.values));
    for (const b of blobs) out.write(bytesOf(b));
    out.flush();
    faultPoint('checkpoint-write'); // LEARN_FAULT_KILL_AT: the arrays are on disk, the state is not
    let lines = 0;
    for (const line of stateLines(state)) {
      out.write(`${line}\n`);
      lines++;
    }
    out.write(`${JSON.stringify({ end: lines })}\n`);
    out.flush();
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  const all = checkpointSeqs(dir);
  for (const seq of all.slice(0, Math.max(0, all.length - keep))) rmSync(checkpointPath(dir, seq), { force: true });
}

/** Reads one checkpoint file (any version), or throws saying what is wrong with it. */
export function readCheckpointFile<S>(dir: string, seq: number): Checkpoint<S> {
  const fd = openSync(checkpointPath(dir, seq), 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(MAGIC.length + 4);
    if (readSync(fd, head, 0, head.length, 0) !== head.length) throw new Error('truncated header');
    const magic = head.subarray(0, MAGIC.length);
    if (magic.equals(MAGIC_V1)) return readV1(dir, seq);
    if (!magic.equals(MAGIC) && !magic.equals(MAGIC_V2)) throw new Error('bad magic');
    const headerLen = head.readUInt32LE(MAGIC.length);
    const headerBytes = Buffer.alloc(headerLen);
    if (readSync(fd, headerBytes, 0, headerLen, head.length) !== headerLen) throw new Error('truncated header');
    const header = JSON.parse(headerBytes.toString('utf8')) as Header;
    let offset = head.length + headerLen;
    const readInto = (what: string, bytes: Uint8Array): void => {
      if (offset + bytes.length > size || readSync(fd, bytes, 0, bytes.length, offset) !== bytes.length) throw new Error(`truncated at ${what}`);
      offset += bytes.length;
    };
    const arrays: NamedArrays = {};
    for (const a of header.arrays) {
      const values = new Float32Array(a.length);
      readInto(a.name, new Uint8Array(values.buffer));
      arrays[a.name] = { shape: a.shape, values };
    }
    const blobs: Blob[] = (header.blobs ?? []).map((b, i) => {
      const Type = BLOB_TYPES[b.type];
      if (!Type || b.bytes % Type.BYTES_PER_ELEMENT !== 0) throw new Error(`binary ${i}: bad type ${b.type} or size ${b.bytes}`);
      const blob = new Type(b.bytes / Type.BYTES_PER_ELEMENT);
      readInto(`binary ${i}`, bytesOf(blob));
      return blob;
    });
    const state = new StateAssembler();
    let pending = Buffer.alloc(0);
    const chunk = Buffer.alloc(READ_CHUNK_BYTES);
    while (offset < size) {
      const n = readSync(fd, chunk, 0, chunk.length, offset);
      if (n === 0) break;
      offset += n;
      let data = pending.length > 0 ? Buffer.concat([pending, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      for (let nl = data.indexOf(0x0a); nl >= 0; nl = data.indexOf(0x0a)) {
        state.apply(data.subarray(0, nl).toString('utf8'));
        data = data.subarray(nl + 1);
      }
      pending = Buffer.from(data);
    }
    if (pending.length > 0 || !state.ended) throw new Error('state cut short (no end line)');
    return { seq: header.seq, state: resolveBlobs(state.root, blobs) as S, arrays };
  } finally {
    closeSync(fd);
  }
}

/** The first format: the state inside the header (files written before the line format still load). */
function readV1<S>(dir: string, seq: number): Checkpoint<S> {
  const buf = readFileSync(checkpointPath(dir, seq));
  const headerLen = buf.readUInt32LE(MAGIC_V1.length);
  const start = MAGIC_V1.length + 4;
  const header = JSON.parse(buf.subarray(start, start + headerLen).toString('utf8')) as HeaderV1<S>;
  let offset = start + headerLen;
  const arrays: NamedArrays = {};
  for (const a of header.arrays) {
    const bytes = a.length * 4;
    if (offset + bytes > buf.length) throw new Error(`truncated at ${a.name}`);
    // Copy: the file buffer's offset need not be 4-byte aligned.
    arrays[a.name] = { shape: a.shape, values: new Float32Array(buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + offset + bytes)) };
    offset += bytes;
  }
  if (offset !== buf.length) throw new Error(`${buf.length - offset} unexpected trailing bytes`);
  return { seq: header.seq, state: header.state, arrays };
}
