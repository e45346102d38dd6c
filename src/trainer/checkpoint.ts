import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { NamedArrays } from '../model/index.js';
import { faultPoint } from '../ops/fault-injection.js';
import { log } from '../ops/logger.js';

/** Version 1: the whole state in the one JSON header (read only: past V8's string limit it cannot be written). */
const MAGIC_V1 = Buffer.from('LRNCKPT1');
/** Version 2: a small header, the float arrays, then the state as JSON lines of bounded size. */
const MAGIC = Buffer.from('LRNCKPT2');
/** Elements of one array per state line: with the trainer's histories, lines of about a megabyte at most. */
const ELEMENTS_PER_LINE = 1000;
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
const FILE = /^ckpt-(\d{12})\.bin$/;

/** A checkpoint: JSON-able state plus named float arrays (weights, optimizer moments) stored as raw bytes. */
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
    for (const p of this.parts) writeSync(this.fd, p);
    this.parts = [];
    this.size = 0;
  }
}

/**
 * Checkpoints in one folder, written atomically: a temporary file, fsync, rename, fsync of the folder. The state
 * is written and read as lines of bounded size, so it may grow past what one JavaScript string can hold.
 * A reader therefore sees either the old or the new file, never a torn one; a file that fails its checks
 * (a disk fault) is skipped in favour of the one before it.
 */
export class CheckpointStore<S> {
  private readonly l = log('trainer.checkpoint');

  constructor(
    readonly dir: string,
    private readonly keep: number,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  write(c: Omit<Checkpoint<S>, 'seq'> & { seq?: number }): number {
    const seq = c.seq ?? this.latestSeq() + 1;
    const names = Object.keys(c.arrays).sort();
    const header: Header = {
      seq,
      arrays: names.map((name) => ({ name, shape: c.arrays[name]!.shape, length: c.arrays[name]!.values.length })),
    };
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(headerBytes.length);
    const file = join(this.dir, `ckpt-${String(seq).padStart(12, '0')}.bin`);
    const tmp = `${file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      const out = new FileWriter(fd);
      for (const part of [MAGIC, len, headerBytes]) out.write(part);
      for (const name of names) {
        const v = c.arrays[name]!.values;
        out.write(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      }
      out.flush();
      faultPoint('checkpoint-write'); // LEARN_FAULT_KILL_AT: the arrays are on disk, the state is not
      let lines = 0;
      for (const line of stateLines(c.state)) {
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
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    this.prune();
    return seq;
  }

  /** The newest readable checkpoint, or undefined when there is none. */
  loadLatest(): Checkpoint<S> | undefined {
    for (const seq of this.seqs().reverse()) {
      try {
        return this.read(seq);
      } catch (err) {
        this.l.error({ err, seq }, 'unreadable checkpoint skipped');
      }
    }
    return undefined;
  }

  private read(seq: number): Checkpoint<S> {
    const fd = openSync(this.path(seq), 'r');
    try {
      const size = fstatSync(fd).size;
      const head = Buffer.alloc(MAGIC.length + 4);
      if (readSync(fd, head, 0, head.length, 0) !== head.length) throw new Error('truncated header');
      const magic = head.subarray(0, MAGIC.length);
      if (magic.equals(MAGIC_V1)) return this.readV1(seq);
      if (!magic.equals(MAGIC)) throw new Error('bad magic');
      const headerLen = head.readUInt32LE(MAGIC.length);
      const headerBytes = Buffer.alloc(headerLen);
      if (readSync(fd, headerBytes, 0, headerLen, head.length) !== headerLen) throw new Error('truncated header');
      const header = JSON.parse(headerBytes.toString('utf8')) as Header;
      let offset = head.length + headerLen;
      const arrays: NamedArrays = {};
      for (const a of header.arrays) {
        const values = new Float32Array(a.length);
        const bytes = new Uint8Array(values.buffer);
        if (offset + bytes.length > size || readSync(fd, bytes, 0, bytes.length, offset) !== bytes.length) throw new Error(`truncated at ${a.name}`);
        arrays[a.name] = { shape: a.shape, values };
        offset += bytes.length;
      }
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
      return { seq: header.seq, state: state.root as S, arrays };
    } finally {
      closeSync(fd);
    }
  }

  /** The first format: the state inside the header (files written before the line format still load). */
  private readV1(seq: number): Checkpoint<S> {
    const buf = readFileSync(this.path(seq));
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

  private path(seq: number): string {
    return join(this.dir, `ckpt-${String(seq).padStart(12, '0')}.bin`);
  }

  private seqs(): number[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .map((f) => FILE.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  latestSeq(): number {
    return this.seqs().at(-1) ?? 0;
  }

  private prune(): void {
    const all = this.seqs();
    for (const seq of all.slice(0, Math.max(0, all.length - this.keep))) rmSync(this.path(seq), { force: true });
  }
}
