// SASRec-like: the same PAL transformer, loss and streaming schedule as LEARN, with trainable item IDs instead of
// frozen content (sasrec/id-learner.ts). Its model runs here or in its own worker thread (sasrec/id-model-thread.ts),
// with exactly the same numbers either way.
import type { Logger } from 'pino';
import type { OnlineModel, WindowExamples } from '../../learner/online-model.js';
import { rehearsalDraw, remember } from '../../learner/online-model.js';
import { Rng, type BackendChoice, type PalConfig } from '../../model/index.js';
import type { EventScores, LearnContext, ReplayMethod, ScoringWindow } from './method.js';
import { rowScorer } from './method.js';
import { IdSequenceLearner, type IdExample } from './sasrec/id-learner.js';
import { IdModelThread } from './sasrec/id-model-thread.js';

/** Training requests the ID model's thread may have queued before the replay waits for it (waitForRoom). */
const MAX_TRAINS_IN_FLIGHT = 4;

export interface SasRecOptions {
  /** Rows of the ID embedding table: the catalogue size of the replayed data set. */
  capacity: number;
  seed: number;
  /** Optimizer steps per window (the trainer's LEARN_STEPS_PER_BATCH: the same budget as LEARN). */
  stepsPerBatch: number;
  /** The trainer's rehearsal (LEARN_REHEARSAL_WINDOWS / _SAMPLES): the ID model rehearses the same way. */
  rehearsal: { windows: number; samples: number };
  log: Logger;
}

export class SasRecMethod implements ReplayMethod {
  readonly name = 'sasrec';
  static readonly label = 'SASRec-like (trainable item IDs)';
  readonly label = SasRecMethod.label;
  readonly kind = 'history';
  threaded = false;
  trainSeconds = 0;
  /** The model when it runs in this thread (created on first use). */
  private learner: IdSequenceLearner | undefined;
  private thread: IdModelThread | undefined;
  /** The latest loss, or the promise of it while the thread trains. */
  private loss: number | Promise<number> | undefined;
  private failure: Error | undefined;
  /** The thread's training requests not answered yet, oldest first. */
  private readonly inFlight: Promise<void>[] = [];
  private readonly rehearsalBuffer: IdExample[][] = [];
  private readonly rehearsalRng: Rng;

  constructor(private readonly opts: SasRecOptions) {
    this.rehearsalRng = new Rng(opts.seed ^ 0x3c6ef372);
  }

  /** With `thread`, moves the model into its own worker thread (before any window: it starts fresh there). */
  start(ctx: { model: OnlineModel; backend: BackendChoice; thread: boolean }): void {
    if (!ctx.thread || this.thread) return;
    if (this.learner || this.loss !== undefined) throw new Error('SASRec-like: the ID model has already been used in this thread');
    this.thread = IdModelThread.start({ base: ctx.model.config, capacity: this.opts.capacity, seed: this.opts.seed, backend: ctx.backend });
    this.threaded = true;
  }

  scores(w: ScoringWindow): EventScores | Promise<EventScores> | undefined {
    // A failed training step there fails the replay at the next window, as it would in this thread.
    if (this.failure) throw this.failure;
    const histories = w.histories.filter((h) => h.length > 0).map((h) => h.map((r) => r.itemId));
    if (histories.length === 0) return undefined;
    const n = w.candidates.length;
    if (this.thread) {
      const vectors = this.thread.vectors([...w.candidates], histories);
      // Handled here and awaited by the evaluator: a failure meanwhile is no unhandled rejection.
      vectors.catch(() => undefined);
      return vectors.then((v) => rowScorer(w.histories, v, n));
    }
    const id = this.model(w.model.config);
    return rowScorer(w.histories, { items: id.itemMatrix(w.candidates), users: id.userVectors(histories), dim: id.cfg.outDim }, n);
  }

  /** Its optimizer steps on a window's examples (the trainer's schedule and budget; rehearsal as LEARN's). */
  learn(w: WindowExamples, ctx: LearnContext): void {
    if (this.failure) throw this.failure;
    const byId = [...w.examples.values()].map((ex) => ({ history: ex.history.map((r) => r.itemId), targets: ex.targets.map((r) => r.itemId) }));
    const { windows, samples } = this.opts.rehearsal;
    const rehearsed = (): IdExample[] => (ctx.rehearse ? rehearsalDraw(this.rehearsalBuffer, samples, (n) => this.rehearsalRng.int(n)) : []);
    const steps = Array.from({ length: this.opts.stepsPerBatch }, () => [...byId, ...rehearsed()]);
    remember(this.rehearsalBuffer, byId, windows);
    const pool = ctx.pool;
    if (this.thread) {
      // Queued behind the thread's earlier requests, not awaited: the next window's scoring waits for it there.
      const poolIds = Array.from({ length: pool.size }, (_, i) => pool.at(i).itemId);
      const trained = this.thread.train(steps, poolIds).then((r) => {
        this.trainSeconds += r.seconds;
        return r.loss;
      });
      this.loss = trained;
      const settled = trained
        .then(
          () => undefined,
          (err: unknown) => {
            this.failure ??= err instanceof Error ? err : new Error(String(err));
          },
        )
        .finally(() => this.inFlight.splice(this.inFlight.indexOf(settled), 1));
      this.inFlight.push(settled);
      return;
    }
    const started = performance.now();
    const id = this.model(ctx.model.config);
    for (const step of steps) this.loss = id.trainStep(step, pool);
    this.trainSeconds += (performance.now() - started) / 1000;
  }

  lastLoss(): number | Promise<number> | undefined {
    return this.loss;
  }

  /** The warm start and daily retraining post window after window, and each request holds its examples and pool ids. */
  async waitForRoom(): Promise<void> {
    while (this.inFlight.length > MAX_TRAINS_IN_FLIGHT) await this.inFlight[0];
    if (this.failure) throw this.failure;
  }

  async close(opts: { abandon?: boolean }): Promise<void> {
    const thread = this.thread;
    if (!thread) return;
    this.thread = undefined;
    if (opts.abandon) return thread.terminate();
    await Promise.all(this.inFlight);
    await thread.close();
    if (this.failure) throw this.failure;
  }

  dispose(): void {
    this.learner?.dispose();
    this.learner = undefined;
  }

  private model(base: PalConfig): IdSequenceLearner {
    if (!this.learner) {
      this.learner = new IdSequenceLearner(base, this.opts.capacity, this.opts.seed);
      this.opts.log.info({ capacity: this.opts.capacity, dim: this.learner.cfg.contentDim }, 'SASRec-like ID model created');
    }
    return this.learner;
  }
}
