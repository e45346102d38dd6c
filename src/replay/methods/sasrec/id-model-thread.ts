/**
 * The SASRec-like baseline's model in its own worker thread (`id-model-worker.ts`): the in-process replay computes
 * its vectors while LEARN's are computed on the main thread, and its training steps overlap LEARN's, so the replay
 * uses two cores. The worker runs the same IdSequenceLearner, fed the same calls in the same order, so its numbers
 * are exactly those of the in-thread model (test: test/replay/in-process.test.ts).
 */
import { Worker } from 'node:worker_threads';
import type { BackendChoice, PalConfig } from '../../../model/index.js';
import type { IdExample } from './id-learner.js';

export interface IdModelThreadData {
  base: PalConfig;
  capacity: number;
  seed: number;
  backend: BackendChoice;
}

/** What the ID model returns for a window: its item matrix (row-major [ids.length * dim]) and one vector per history. */
export interface IdVectors {
  items: Float32Array;
  users: Float32Array[];
  dim: number;
}

export type IdModelRequest =
  | { kind: 'vectors'; seq: number; ids: string[]; histories: string[][] }
  | { kind: 'train'; seq: number; steps: IdExample[][]; pool: string[] }
  | { kind: 'close'; seq: number };

export type IdModelReply =
  | { kind: 'vectors'; seq: number; vectors: IdVectors }
  | { kind: 'train'; seq: number; loss: number; seconds: number }
  | { kind: 'closed'; seq: number }
  | { kind: 'error'; seq: number; message: string };

/** The result of a train request: the loss before the last step, and the seconds the worker spent on the steps. */
export interface IdTrainResult {
  loss: number;
  seconds: number;
}

type Pending = { resolve: (r: IdModelReply) => void; reject: (err: Error) => void };

export class IdModelThread {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (r: IdModelReply) => {
      const p = this.pending.get(r.seq);
      if (!p) return;
      this.pending.delete(r.seq);
      if (r.kind === 'error') p.reject(new Error(`SASRec-like model thread: ${r.message}`));
      else p.resolve(r);
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`SASRec-like model thread exited (code ${code})`)));
  }

  static start(data: IdModelThreadData): IdModelThread {
    return new IdModelThread(new Worker(new URL('./id-model-worker.js', import.meta.url), { workerData: data }));
  }

  /** The item matrix of `ids` and the user vectors of `histories` (item ids, oldest first, none empty), in that order. */
  async vectors(ids: readonly string[], histories: readonly (readonly string[])[]): Promise<IdVectors> {
    const r = await this.request({ kind: 'vectors', ids: [...ids], histories: histories.map((h) => [...h]) });
    if (r.kind !== 'vectors') throw new Error(`SASRec-like model thread answered ${r.kind} to vectors`);
    return r.vectors;
  }

  /** One optimizer step per entry of `steps`, negatives drawn from `pool` (item ids), queued behind earlier requests. */
  async train(steps: readonly IdExample[][], pool: readonly string[]): Promise<IdTrainResult> {
    const r = await this.request({ kind: 'train', steps: [...steps], pool: [...pool] });
    if (r.kind !== 'train') throw new Error(`SASRec-like model thread answered ${r.kind} to train`);
    return { loss: r.loss, seconds: r.seconds };
  }

  /** Waits for every queued request, then ends the thread. */
  async close(): Promise<void> {
    if (!this.failure) await this.request({ kind: 'close' });
    await this.terminate();
  }

  /** Ends the thread now; requests still queued are rejected. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
    await this.exited;
  }

  private request(req: DistributiveOmit<IdModelRequest, 'seq'>): Promise<IdModelReply> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ ...req, seq });
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
