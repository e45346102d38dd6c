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
