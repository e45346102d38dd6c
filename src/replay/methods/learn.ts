// LEARN: the PAL adapter over the frozen LM's content vectors (the product's model). Its weights are the shared
// stream model's, trained by the test-then-train loop (in-process) or by the trainer itself (the Kafka path), so this
// method only scores.
import { ServedItemVectors, type ServedItemsSchedule } from '../served-items.js';
import type { EventScores, ReplayMethod, ScoringWindow } from './method.js';
import { rowScorer } from './method.js';

export class LearnMethod implements ReplayMethod {
  readonly name = 'learn';
  static readonly label = 'LEARN (PAL adapter on the frozen LM)';
  readonly label = LearnMethod.label;
  readonly kind = 'content';
  readonly threaded = false;
  readonly trainSeconds = 0;
  /** With a schedule: item vectors as stale as serving's (LEARN_REPLAY_STALE_ITEMS), not the newest weights'. */
  private readonly served: ServedItemVectors | undefined;

  constructor(staleItems?: ServedItemsSchedule) {
    this.served = staleItems ? new ServedItemVectors(staleItems) : undefined;
  }

  scores(w: ScoringWindow): EventScores {
    const withHistory = w.histories.filter((h) => h.length > 0);
    if (withHistory.length === 0) return () => undefined;
    const model = w.model;
    const items = this.served ? this.served.matrix(model, w.candidates) : model.itemMatrix(w.candidates);
    return rowScorer(w.histories, { items, users: model.userVectorsOf(withHistory), dim: model.config.outDim }, w.candidates.length);
  }
}
