// The one test-then-train loop of the replay (River's progressive validation, window by window): every method ranks a
// window's events before any learns from it. The in-process replay drives it window by window; the Kafka replay
// drives it from the trainer's windowReady hook (the trainer then steps the shared model itself). It knows no method:
// the evaluator scores them, and each learns through the ReplayMethod interface.
import type { OnlineModel, WindowExamples } from '../learner/online-model.js';
import type { NegativePool } from '../model/index.js';
import type { ReplayEvaluator } from './evaluator.js';

export interface TestThenTrainParts {
  evaluator: ReplayEvaluator;
  /** The shared stream model: LEARN's weights, every user's history, the content table. */
  model: OnlineModel;
  /** A window's negatives. */
  pool: (w: WindowExamples) => NegativePool;
  /**
   * Who steps the shared model after a window is scored: this loop, or the trainer around it (the Kafka path, where
   * windowReady scores and the trainer then learns, with its own schedule and checkpoints).
   */
  modelSteppedBy: 'loop' | 'trainer';
  /** Whether the shared model's weights learn at all (false: only its histories follow the stream). */
  trainsModel: boolean;
}

export class TestThenTrain {
  /** Seconds the loop spent stepping the shared model. */
  trainSeconds = 0;
  /** The shared model's latest loss (0 before its first step). */
  loss = 0;

  constructor(private readonly parts: TestThenTrainParts) {}

  /**
   * One live window: every method ranks it, then (with `update`) every method learns from it and the shared model
   * steps; without, the weights stay as they are (static or daily updates) and only the histories move on. A promise
   * when a method scores in its own thread.
   */
  live(w: WindowExamples, update: boolean): void | Promise<void> {
    const scored = this.parts.evaluator.scoreWindow(w, this.parts.model);
    return scored ? scored.then(() => this.learnLive(w, update)) : this.learnLive(w, update);
  }

  /** A window seen without scoring or learning (the warm-start prefix, kept for retraining): histories and counts. */
  observe(w: WindowExamples): void {
    this.parts.model.observe(w.events);
    this.parts.evaluator.observe(w.events);
  }

  /** Learns again from windows already seen (warm-start epochs, daily retraining): no scoring, histories unchanged. */
  async retrain(windows: readonly WindowExamples[], rehearse: boolean): Promise<void> {
    const { evaluator, model, pool } = this.parts;
    for (const w of windows) {
      if (this.parts.trainsModel) this.timed(() => model.train(w.examples, pool(w), rehearse));
      evaluator.learn(w, model, pool(w), rehearse);
      await evaluator.waitForRoom();
    }
  }

  private learnLive(w: WindowExamples, update: boolean): void {
    const { evaluator, model, pool } = this.parts;
    if (update) evaluator.learn(w, model, pool(w));
    if (this.parts.modelSteppedBy === 'trainer') return;
    if (update && this.parts.trainsModel) this.timed(() => model.learnWindow(w, pool(w)));
    else model.observe(w.events);
  }

  private timed(step: () => number): void {
    const started = performance.now();
    this.loss = step();
    this.trainSeconds += (performance.now() - started) / 1000;
  }
}
