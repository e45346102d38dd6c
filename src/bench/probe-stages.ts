import type { Trainer } from '../trainer/trainer.js';
import { summarise, type LatencySummary } from './percentiles.js';

/** A probe's latency in two parts, each summarised over the probes of a load step. */
export interface ProbeSplit {
  /** From the send to the trainer taking the record in: the broker, the encoder's hop for a listing, the consumer. */
  toTrainer: LatencySummary;
  /** From then until the vector is readable in Redis: the publisher's queue, the tower's pass, the write, the poll. */
  trainerToRedis: LatencySummary;
}

/**
 * Where a freshness probe's time goes, when the trainer runs in this process (the load bench): notes when the trainer
 * takes in a probe's listing content (`contentArrived`) or a probe user's event (`eventsArrived`), so that each probe's
 * end-to-end time splits into the way to the trainer and the rest. `eventsArrived` fires at the end of a consumed
 * chunk, for the users still in the open window: the way to the trainer includes the chunk's handling, and a probe
 * whose window is cut in the same chunk is left out of the split (each part's `n` says how many were split).
 */
export class ProbeStages {
  private readonly arrivedAt = new Map<string, number>();
  private readonly toTrainer = { listing: [] as number[], event: [] as number[] };
  private readonly afterTrainer = { listing: [] as number[], event: [] as number[] };
  private readonly onContent = (id: string): void => this.note(id);
  private readonly onEvents = (users: string[]): void => users.forEach((u) => this.note(u));

  constructor(
    private readonly trainer: Pick<Trainer, 'on' | 'off'>,
    private readonly isProbe: (id: string) => boolean,
  ) {
    trainer.on('contentArrived', this.onContent);
    trainer.on('eventsArrived', this.onEvents);
  }

  /**
   * A probe of `kind` on `id` sent at `sentAt` (performance.now()) took `totalMs` end to end. A probe whose arrival
   * was not seen is left out of the split.
   */
  done(kind: 'listing' | 'event', id: string, sentAt: number, totalMs: number): void {
    const at = this.arrivedAt.get(id);
    this.arrivedAt.delete(id);
    if (at === undefined || at < sentAt) return;
    this.toTrainer[kind].push(at - sentAt);
    this.afterTrainer[kind].push(sentAt + totalMs - at);
  }

  /** The split of the probes done since the last call, per kind. */
  take(): { listing: ProbeSplit; event: ProbeSplit } {
    const split = (kind: 'listing' | 'event'): ProbeSplit => {
      const s = { toTrainer: summarise(this.toTrainer[kind]), trainerToRedis: summarise(this.afterTrainer[kind]) };
      this.toTrainer[kind] = [];
      this.afterTrainer[kind] = [];
      return s;
    };
    this.arrivedAt.clear();
    return { listing: split('listing'), event: split('event') };
  }

  close(): void {
    this.trainer.off('contentArrived', this.onContent);
    this.trainer.off('eventsArrived', this.onEvents);
  }

  private note(id: string): void {
    // The first arrival counts: a user's later events, or a content record sent again, come after the vector.
    if (this.isProbe(id) && !this.arrivedAt.has(id)) this.arrivedAt.set(id, performance.now());
  }
}
