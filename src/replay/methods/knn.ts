// Item-kNN: the neighbourhood baseline (src/knn/item-knn.ts). Scores an event's candidates by their co-occurrence with
// the user's last few items, cosine-normalised; its counts take each window's events after the window is scored. It
// needs no content, so the popularity prior applies to it as to every history-based method.
import type { WindowExamples } from '../../learner/online-model.js';
import { DEFAULT_ITEM_KNN, ItemKnn, candidateIndex, type ItemKnnOptions } from '../../knn/item-knn.js';
import type { EventScores, ReplayMethod, ScoringWindow } from './method.js';

export class ItemKnnMethod implements ReplayMethod {
  readonly name = 'knn';
  static readonly label = 'Item-kNN (co-occurrence)';
  readonly label = ItemKnnMethod.label;
  readonly kind = 'history';
  readonly threaded = false;
  trainSeconds = 0;
  private readonly knn: ItemKnn;

  constructor(options: ItemKnnOptions = DEFAULT_ITEM_KNN) {
    this.knn = new ItemKnn(options);
  }

  scores(w: ScoringWindow): EventScores {
    const index = candidateIndex(w.candidates);
    return (i) => this.knn.scores((w.histories[i] ?? []).map((r) => r.itemId), index, w.candidates.length);
  }

  learn(w: WindowExamples): void {
    const started = performance.now();
    for (const [user, events] of w.events) for (const e of events) this.knn.observe(user, e.item_id);
    this.trainSeconds += (performance.now() - started) / 1000;
  }
}
