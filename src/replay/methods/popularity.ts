// Popularity (recency-decayed): ranks by the evaluator's decayed popularity of the moment, the same scores every
// history-based method falls back to for a user's first event (see ReplayEvaluator).
import type { ReplayMethod } from './method.js';

export class PopularityMethod implements ReplayMethod {
  readonly name = 'popularity';
  static readonly label = 'Popularity (recency-decayed)';
  readonly label = PopularityMethod.label;
  readonly kind = 'popularity';
  readonly threaded = false;
  readonly trainSeconds = 0;

  scores(): undefined {
    return undefined;
  }
}
