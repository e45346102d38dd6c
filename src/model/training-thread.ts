/**
 * A PalLearner's optimizer steps in a worker thread (`training-worker.ts`), so the event loop that calls it (consumer,
 * listing encoding, vector publishing, HTTP) never waits for a step. The thread owns the trainable weights, the
 * optimizer and the dropout generator; batches are built by the caller (its sampling generator stays there) and
 * each step answers with a weight snapshot tagged with the optimizer step it follows, for the caller's inference
 * copy. Requests are answered in order, so a `state()` asked for before a step reflects none of it.
 */
import { Worker } from 'node:worker_threads';
import type { FaultSpec, HangPoint } from '../config/settings.js';
import type { BackendChoice } from './backend.js';
import type { PalBatch } from './batch.js';
import type { PalConfig } from './config.js';
import type { LearnerState } from './learner.js';
import type { NamedArrays } from './tensors.js';

/** Which item input the thread's learner reads (the same as the caller's). */
export type TrainingInput = { kind: 'content' } | { kind: 'hybrid'; maxRows: number };

export interface TrainingThreadData {
  cfg: PalConfig;
  seed: number;
  input: TrainingInput;
  backend: BackendChoice;
  /** The state to start from (weights and optimizer), the caller's learner's. */
  state: LearnerState;
  /** LEARN_FAULT_HANG_AT as the role armed it (the fault tests). */
  faultHang?: FaultSpec<HangPoint>;
}

/** What one request of steps gives back: the last step's loss and the weights after it. */
export interface TrainedWeights {
  loss: number;
  /** The optimizer step these weights follow: the version of every vector computed from them. */
  step: number;
  weights: NamedArrays;
  /** Seconds the thread spent on the steps. */
  seconds: number;
  /** Steps of this request not applied as non-finite (see PalLearner.skippedSteps). */
  skipped: number;
}

export type TrainingRequest =
  | { kind: 'steps'; seq: number; batches: PalBatch[]; reserveRows: number }
  | { kind: 'state'; seq: number }
  | { kind: 'close'; seq: number };

export type TrainingReply =
  | ({ kind: 'steps'; seq: number } & TrainedWeights)
  | { kind: 'state'; seq: number; state: LearnerState }
  | { kind: 'closed'; seq: number }
  | { kind: 'ready'; seq: 0 }
  | { kind: 'error'; seq: number; message: string };

/** How long close() waits for the queued requests, and then for the thread to end. */
const CLOSE_WAIT_MS = 30_000;

type Pending = { resolve: (r: TrainingReply) => void; reject: (err: Error) => void };

export class TrainingThread {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;
  private closing = false;
  private readonly exited: Promise<void>;
  private onFailure: (err: Error) => void = () => undefined;
  private readonly ready: Promise<void>;

  private constructor(private readonly worker: Worker) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    this.ready = new Promise((resolve, reject) => {
      worker.once('message', () => resolve());
      this.pending.set(0, { resolve: () => resolve(), reject });
    });
    worker.on('message', (r: TrainingReply) => {
      const p = this.pending.get(r.seq);
      if (!p) return;
      this.pending.delete(r.seq);
      if (r.kind === 'error') p.reject(new Error(`training thread: ${r.message}`));
      else p.resolve(r);
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.closing) this.fail(new Error(`training thread exited (code ${code})`));
    });
  }

  /** Starts the thread and waits until its backend and learner are ready (the first step then pays for neither). */
  static async start(data: TrainingThreadData): Promise<TrainingThread> {
    const t = new TrainingThread(new Worker(new URL('./training-worker.js', import.meta.url), { workerData: data }));
    try {
      await t.ready;
    } catch (err) {
      await t.worker.terminate();
      throw err;
    }
    return t;
  }

  /** Called once if the thread dies or fails a request: its weights are lost, so training must stop loudly. */
  onFail(f: (err: Error) => void): void {
    this.onFailure = f;
    if (this.failure) f(this.failure);
  }

  /** One optimizer step per batch, then the item input grown to `reserveRows` rows (0: no change). */
  async steps(batches: PalBatch[], reserveRows: number): Promise<TrainedWeights> {
    const r = await this.request({ kind: 'steps', batches, reserveRows }, batches.flatMap(transferables));
    if (r.kind !== 'steps') throw new Error(`training thread answered ${r.kind} to steps`);
    return { loss: r.loss, step: r.step, weights: r.weights, seconds: r.seconds, skipped: r.skipped };
  }

  /** Weights and optimizer after every step asked for so far (for a checkpoint). */
  async state(): Promise<LearnerState> {
    const r = await this.request({ kind: 'state' });
    if (r.kind !== 'state') throw new Error(`training thread answered ${r.kind} to state`);
    return r.state;
  }

  /**
   * Waits for every queued request (at most `waitMs`: a thread that stopped answering is not waited for), then ends
   * the thread.
   */
  async close(waitMs = CLOSE_WAIT_MS): Promise<void> {
    this.closing = true;
    const bound = <T>(p: Promise<T>) => Promise.race([p, new Promise<void>((r) => setTimeout(r, waitMs).unref())]);
    if (!this.failure && waitMs > 0) await bound(this.request({ kind: 'close' }).catch(() => undefined));
    await bound(this.worker.terminate());
    await bound(this.exited);
    // Requests still unanswered (an abandoned close) never will be: their callers hear so.
    const closed = new Error('training thread closed before it answered');
    for (const p of this.pending.values()) p.reject(closed);
    this.pending.clear();
  }

  private request(req: DistributiveOmit<TrainingRequest, 'seq'>, transfer: ArrayBuffer[] = []): Promise<TrainingReply> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject: (err) => reject(err) });
      this.worker.postMessage({ ...req, seq }, transfer);
    });
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.onFailure(err);
  }
}

/** The batch's big arrays move to the thread instead of being copied (the caller builds a batch for one step only). */
function transferables(b: PalBatch): ArrayBuffer[] {
  const buffers = [b.historyContent, b.historyMask, b.samplePositions, b.targetContent, b.targetUsers, b.negativeContent].map((a) => a.buffer as ArrayBuffer);
  return [...new Set(buffers)].filter((x) => x.byteLength > 0);
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
