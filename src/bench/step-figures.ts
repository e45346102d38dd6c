import type { Histogram } from 'prom-client';
import type { Trainer } from '../trainer/trainer.js';

/** What a load step's trained windows cost: how many, their mean events, and the mean ms from cut to weights in use. */
export interface WindowFigures {
  windows: number;
  eventsPerStep: number;
  msPerStep: number;
}

/** Counts the windows a trainer finishes from now until `take()` (then from zero again). */
export class WindowTally {
  private windows = 0;
  private events = 0;
  private ms = 0;
  private readonly listener = (): void => {
    this.windows++;
    this.events += this.trainer.stats.lastWindowEvents;
    this.ms += this.trainer.stats.lastStepMs;
  };

  constructor(private readonly trainer: Trainer) {
    trainer.on('windowTrained', this.listener);
  }

  take(): WindowFigures {
    const out = {
      windows: this.windows,
      eventsPerStep: this.windows === 0 ? 0 : Math.round(this.events / this.windows),
      msPerStep: this.windows === 0 ? 0 : Math.round(this.ms / this.windows),
    };
    this.windows = this.events = this.ms = 0;
    return out;
  }

  close(): void {
    this.trainer.off('windowTrained', this.listener);
  }
}

/** Cumulative bucket counts of one label value of a prom-client histogram, by upper bound (seconds). */
export async function bucketCounts(h: Histogram<string>, label: string, value: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const v of (await h.get()).values) {
    if (!v.metricName?.endsWith('_bucket') || v.labels[label] !== value) continue;
    const le = v.labels.le;
    out.set(le === '+Inf' ? Infinity : Number(le), v.value);
  }
  return out;
}

/**
 * The upper bound (ms) of the bucket holding the p-th percentile of what was observed between two readings of
 * `bucketCounts` (null: nothing observed). A bucket bound, not an exact figure: the histogram keeps no more.
 */
export function percentileBound(before: Map<number, number>, after: Map<number, number>, p: number): number | null {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return null;
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= (p / 100) * total) return le === Infinity ? null : Math.round(le * 1000);
  }
  return null;
}
