import type { UserEvent } from '../codec/index.js';
import type { Config } from '../config/load.js';
import { eventProblem } from '../learner/event-check.js';

/** The open window a pass fills (the replay's MicroBatchWindow, the trainer's intake). */
export interface FilledWindow {
  add(e: UserEvent): void;
  readonly full: boolean;
  readonly size: number;
}

/**
 * One pass over a historical stream into micro-batch windows, shared by warm start (`learn pretrain`) and the
 * in-process replay so that both check and cut alike: an event that cannot be learned from (invalid, or its item has
 * no content) is counted and left out, the others fill the window, which is handed to `cut` as soon as it is full
 * (and the last, partial one at `end`).
 */
export class StreamPass {
  /** Events refused by the edge check (eventProblem). */
  invalid = 0;
  /** Valid events whose item has no content vector. */
  noContent = 0;

  constructor(
    private readonly cfg: Pick<Config, 'eventTypes' | 'maxFutureMs' | 'maxIdBytes'>,
    private readonly content: { has(itemId: string): boolean },
    private readonly window: FilledWindow,
    private readonly cut: () => Promise<void>,
  ) {}

  /** Events that could not be learned from. */
  get rejected(): number {
    return this.invalid + this.noContent;
  }

  /** Takes the next event of the stream. */
  async offer(e: UserEvent): Promise<void> {
    if (eventProblem(e, this.cfg)) this.invalid++;
    else if (!this.content.has(e.item_id)) this.noContent++;
    else {
      this.window.add(e);
      if (this.window.full) await this.cut();
    }
  }

  /** Cuts what the open window holds (the stream's end, or the replay's warm-start split). */
  async end(): Promise<void> {
    if (this.window.size > 0) await this.cut();
  }
}
