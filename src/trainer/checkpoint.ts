import { mkdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { armedFaultHang, armedFaultKill } from '../ops/fault-injection.js';
import { log } from '../ops/logger.js';
import { checkpointSeqs, readCheckpointFile, type Checkpoint } from './checkpoint-file.js';
import type { CheckpointDone, CheckpointJob } from './checkpoint-worker.js';

export type { Checkpoint } from './checkpoint-file.js';

/** How a checkpoint's typed arrays reach the writing thread. */
export interface WriteOptions {
  /**
   * true: the state's typed arrays are the caller's to give (a fresh snapshot): their buffers move to the thread
   * and are unusable here afterwards. false (default): they are copied.
   */
  handOver?: boolean;
}

/** Every typed array that is a value of a plain object's key: what a write may hand over. */
function buffersOf(value: unknown, out: ArrayBuffer[] = []): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer && !out.includes(value.buffer)) out.push(value.buffer);
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const v of Object.values(value)) buffersOf(v, out);
  }
  return out;
}

/**
 * Checkpoints in one folder (format: checkpoint-file.ts). A write is serialised and written by a worker thread, so the
 * event loop only pays for copying the state to it (a memory copy: no JSON of the histories on this thread); the
 * promise resolves once the file is renamed in place and synced, and only then may offsets be committed. A file
 * that fails its checks (a disk fault, a kill mid-write) is skipped in favour of the one before it.
 */
export class CheckpointStore<S> {
  private readonly l = log('trainer.checkpoint');
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, { resolve: (seq: number) => void; reject: (err: Error) => void }>();

  constructor(
    readonly dir: string,
    private readonly keep: number,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** Writes a checkpoint (numbered after the newest unless `seq` is given); resolves with its number once durable. */
  write(c: Omit<Checkpoint<S>, 'seq'> & { seq?: number }, o: WriteOptions = {}): Promise<number> {
    const seq = c.seq ?? Math.max(this.latestSeq(), ...this.waiting.keys()) + 1;
    const job: CheckpointJob = { dir: this.dir, keep: this.keep, checkpoint: { seq, state: c.state, arrays: c.arrays } };
    return new Promise<number>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      try {
        const w = this.thread();
        w.ref();
        w.postMessage(job, o.handOver ? buffersOf(c.state) : []);
      } catch (err) {
        this.waiting.delete(seq);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  /** Starts the writing thread now (idle, it keeps nothing alive): a role's first checkpoint then does not wait for it. */
  startWriter(): void {
    this.thread();
  }

  /** Stops the writing thread (a write in flight fails); the next write starts another. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }

  /** The newest readable checkpoint, or undefined when there is none. */
  loadLatest(): Checkpoint<S> | undefined {
    for (const seq of checkpointSeqs(this.dir).reverse()) {
      try {
        return readCheckpointFile<S>(this.dir, seq);
      } catch (err) {
        this.l.error({ err, seq }, 'unreadable checkpoint skipped');
      }
    }
    return undefined;
  }

  latestSeq(): number {
    return checkpointSeqs(this.dir).at(-1) ?? 0;
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { faultKill: armedFaultKill(), faultHang: armedFaultHang() } });
    // Idle, the thread does not keep the process alive; a write in flight does (its promise is awaited).
    w.unref();
    w.on('message', (done: CheckpointDone) => {
      const p = this.waiting.get(done.seq);
      this.waiting.delete(done.seq);
      if (this.waiting.size === 0) w.unref();
      if (done.error !== undefined) p?.reject(new Error(`checkpoint ${done.seq} not written: ${done.error}`));
      else p?.resolve(done.seq);
    });
    const fail = (err: Error): void => {
      if (this.worker === w) this.worker = undefined;
      for (const [seq, p] of this.waiting) p.reject(new Error(`checkpoint ${seq} not written: ${err.message}`));
      this.waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`checkpoint thread exited (${code})`)));
    this.worker = w;
    return w;
  }
}
