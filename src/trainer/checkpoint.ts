import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { NamedArrays } from '../model/index.js';
import { log } from '../ops/logger.js';

const MAGIC = Buffer.from('LRNCKPT1');
const FILE = /^ckpt-(\d{12})\.bin$/;

/** A checkpoint: JSON-able state plus named float arrays (weights, optimizer moments) stored as raw bytes. */
export interface Checkpoint<S> {
  seq: number;
  state: S;
  arrays: NamedArrays;
}

interface Header<S> {
  seq: number;
  state: S;
  arrays: Array<{ name: string; shape: number[]; length: number }>;
}

/**
 * Checkpoints in one folder, written atomically: a temporary file, fsync, rename, fsync of the folder.
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
    const header: Header<S> = {
      seq,
      state: c.state,
      arrays: names.map((name) => ({ name, shape: c.arrays[name]!.shape, length: c.arrays[name]!.values.length })),
    };
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(headerBytes.length);
    const file = join(this.dir, `ckpt-${String(seq).padStart(12, '0')}.bin`);
    const tmp = `${file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      for (const part of [MAGIC, len, headerBytes]) writeSync(fd, part);
      for (const name of names) {
        const v = c.arrays[name]!.values;
        writeSync(fd, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      }
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
    const buf = readFileSync(this.path(seq));
    if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('bad magic');
    const headerLen = buf.readUInt32LE(MAGIC.length);
    const start = MAGIC.length + 4;
    const header = JSON.parse(buf.subarray(start, start + headerLen).toString('utf8')) as Header<S>;
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
