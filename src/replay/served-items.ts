// The item vectors serving scores with (issue 23 item 7): a version's items are written when it is built (every
// LEARN_VERSION_EVERY_STEPS steps), a new item's when its content arrives, and a slice per window by the trainer's
// refresh round (LEARN_ITEM_REFRESH_STEPS); user vectors always come from the newest weights. With
// LEARN_REPLAY_STALE_ITEMS the replay's LEARN scores with these instead of item vectors from the newest weights.
import type { OnlineModel } from '../learner/online-model.js';
import { ItemRefreshRound } from '../trainer/item-refresh.js';

export interface ServedItemsSchedule {
  /** Steps between version builds (LEARN_VERSION_EVERY_STEPS; the replay has no wall-clock cadence). */
  versionEverySteps: number;
  /** The refresh bound (LEARN_ITEM_REFRESH_STEPS; 0 off). */
  refreshSteps: number;
}

export class ServedItemVectors {
  private readonly vectors = new Map<string, Float32Array>();
  private readonly refresh: ItemRefreshRound;
  /** The model's step at the last version build (undefined before the first, built when the first window is scored). */
  private builtAt: number | undefined;
  private countedStep = 0;

  constructor(private readonly schedule: ServedItemsSchedule) {
    this.refresh = new ItemRefreshRound(schedule.refreshSteps);
  }

  /** The candidates' vectors as serving has them now: row-major [candidates.length * outDim]. */
  matrix(model: Pick<OnlineModel, 'step' | 'config' | 'itemMatrix'>, candidates: readonly string[]): Float32Array {
    const step = model.step;
    if (this.builtAt === undefined || step - this.builtAt >= this.schedule.versionEverySteps) {
      // A version build: every item from the weights of now (computed below, as each is needed; all are, every window).
      this.vectors.clear();
      this.builtAt = step;
    } else {
      for (const id of this.refresh.due(step - this.countedStep, () => this.vectors.keys())) this.vectors.delete(id);
    }
    this.countedStep = step;
    // Items first seen now: their content just arrived, so serving has them from these weights.
    const missing = candidates.filter((id) => !this.vectors.has(id));
    const d = model.config.outDim;
    const rows = model.itemMatrix(missing);
    missing.forEach((id, i) => this.vectors.set(id, rows.subarray(i * d, (i + 1) * d)));
    const out = new Float32Array(candidates.length * d);
    candidates.forEach((id, i) => out.set(this.vectors.get(id) as Float32Array, i * d));
    return out;
  }
}
