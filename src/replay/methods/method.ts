// What the replay evaluator asks of a recommendation method. The evaluator ranks, counts metrics and applies the
// operating point; a method only scores a window's events and learns from the stream. A new method is one new file
// under src/replay/methods/ and one line in methods/index.ts.
import type { UserEvent } from '../../codec/index.js';
import type { OnlineModel, WindowExamples } from '../../learner/online-model.js';
import type { BackendChoice, ItemRef, NegativePool } from '../../model/index.js';
import type { OperatingPointKind } from '../operating-points.js';
import { scoreRows } from '../scoring.js';

/** A window being scored, the same for every method. */
export interface ScoringWindow {
  /** The window's events in event-time order. */
  events: readonly UserEvent[];
  /** The candidates (item ids) every event is ranked over. */
  candidates: readonly string[];
  /** Per event, the user's history up to it (before the window, then the user's earlier events of this window). */
  histories: readonly (readonly ItemRef[])[];
  /** The shared stream state: LEARN's weights, every user's history, the content table. */
  model: OnlineModel;
  /** The frozen content's scores (the user's mean content vector against each candidate's), computed once per window. */
  frozenContent(): EventScores;
}

/** Event i's scores over the window's candidates; undefined where the method cannot score it (no history: the evaluator's fallback ranks it). */
export type EventScores = (i: number) => Float32Array | undefined;

/** What a method learns from: a window just scored, its negatives, and whether to rehearse earlier windows. */
export interface LearnContext {
  model: OnlineModel;
  pool: NegativePool;
  rehearse: boolean;
}

export interface ReplayMethod {
  readonly name: string;
  readonly label: string;
  /**
   * How the operating point applies to its scores (operating-points.ts): 'content' (its scores take the frozen
   * content's term and the prior), 'history' (the prior), 'popularity' (it ranks by the evaluator's popularity scores
   * themselves, so it never "falls back").
   */
  readonly kind: OperatingPointKind;
  /** Whether its model runs in its own thread (its scores then arrive as a promise, its training beside the rest). */
  readonly threaded: boolean;
  /** Seconds spent learning (in its own thread, if threaded). */
  readonly trainSeconds: number;
  /** Before the first window, once the shared model exists. */
  start?(ctx: { model: OnlineModel; backend: BackendChoice; thread: boolean }): void;
  /** Scores for every event of the window, by the weights from before it (test-then-train); undefined: none this window. */
  scores(window: ScoringWindow): EventScores | Promise<EventScores> | undefined;
  /** Updates its weights from a window (after scoring it, or while pretraining/retraining). */
  learn?(w: WindowExamples, ctx: LearnContext): void;
  /** Its latest training loss, or the promise of it while its thread trains; undefined before any training. */
  lastLoss?(): number | Promise<number> | undefined;
  /** Waits until its queued work is small enough to queue more (a thread's training requests). */
  waitForRoom?(): Promise<void>;
  /** Waits for its queued work and ends its thread; `abandon` ends it at once (a replay that failed). */
  close?(opts: { abandon?: boolean }): Promise<void>;
  dispose?(): void;
}

/** A method's vectors for a window: the candidates' matrix (row-major [n * dim]) and one user vector per non-empty history. */
export interface RowVectors {
  items: Float32Array;
  users: readonly Float32Array[];
  dim: number;
}

/** Event i's scores over the n candidates, from the user vector of its history; undefined for an event without one. */
export function rowScorer(histories: readonly (readonly ItemRef[])[], v: RowVectors, n: number): EventScores {
  const rowOf = new Map<number, number>();
  histories.forEach((h, i) => {
    if (h.length > 0) rowOf.set(i, rowOf.size);
  });
  return (i) => {
    const r = rowOf.get(i);
    return r === undefined ? undefined : scoreRows(v.items, n, v.dim, v.users[r] as Float32Array);
  };
}
