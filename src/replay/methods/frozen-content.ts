// Frozen content, no adapter (variant c): the user's normalised mean content vector against each candidate's. What
// the frozen LM gives before any learning; also the content term LEARN's operating points add (ScoringWindow.frozenContent).
import type { ItemRef } from '../../model/index.js';
import type { OnlineModel } from '../../learner/online-model.js';
import { normalisedMean, stackRows } from '../scoring.js';
import type { EventScores, ReplayMethod, ScoringWindow } from './method.js';
import { rowScorer } from './method.js';

export class FrozenContentMethod implements ReplayMethod {
  readonly name = 'content';
  static readonly label = 'Frozen content, no adapter (variant c)';
  readonly label = FrozenContentMethod.label;
  readonly kind = 'history';
  readonly threaded = false;
  readonly trainSeconds = 0;

  scores(w: ScoringWindow): EventScores {
    return w.frozenContent();
  }
}

/** The frozen content's scores of a window's events (user vectors of every event with a history, item vectors once). */
export function frozenContentScores(model: OnlineModel, ids: readonly string[], histories: readonly (readonly ItemRef[])[]): EventScores {
  const withHistory = histories.filter((h) => h.length > 0);
  if (withHistory.length === 0) return () => undefined;
  const dim = model.config.contentDim;
  const items = stackRows(ids.map((id) => model.content.get(id) as Float32Array), dim);
  return rowScorer(histories, { items, users: withHistory.map((h) => normalisedMean(h.map((r) => r.content), dim)), dim }, ids.length);
}
