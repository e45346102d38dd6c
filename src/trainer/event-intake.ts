import { defaultCodec, type UserEvent } from '../codec/index.js';
import type { Config } from '../config/load.js';
import { deadLetterOf, type PartitionOffsets, type SourceRecord } from '../kafka/consumer-runner.js';
import type { DeadLetter } from '../kafka/dead-letter.js';
import { eventProblem } from '../learner/event-check.js';
import { faultPoint } from '../ops/fault-injection.js';
import { WaitingEvents, type WaitingEvent, type WaitingOptions } from './waiting-events.js';
import { MicroBatchWindow, type WindowPolicy } from './window.js';

export type IntakeSettings = Pick<Config, 'batchUsers' | 'windowMaxEvents' | 'maxWaitingEvents' | 'maxWaitingMs' | 'eventTypes' | 'maxFutureMs' | 'maxIdBytes'>;

/** What became of one consumed record. */
export type Intake = 'duplicate' | 'rejected' | 'windowed' | 'waiting';

/**
 * The trainer's event intake, with no Kafka: de-duplication against the offsets already consumed, validation, the
 * open micro-batch window, the events waiting for their item's content and their release, and the dead letters all of
 * that produces. The trainer role feeds it records and trains when `windowFull`; its state (offsets, waiting events,
 * including those released into the still-open window) is part of every checkpoint.
 */
export class EventIntake {
  private readonly window: MicroBatchWindow;
  private waiting: WaitingEvents;
  /** Events released from waiting, not yet moved into the window (a window may fill, train and checkpoint between two). */
  private pending: WaitingEvent[] = [];
  /** Events released from waiting into the open window: checkpointed with the waiting ones until that window trains. */
  private released: WaitingEvent[] = [];
  /** Dead letters not yet written: the trainer writes them before anything is checkpointed (a checkpoint commits past them). */
  private letters: DeadLetter[] = [];
  /** Next offset per topic and partition after everything handed to the intake. */
  private readonly consumed: PartitionOffsets = new Map();
  /** Users with events put into the open window since the last `takeArrivals` (their served vector is out of date). */
  private arrivals = new Set<string>();
  /** Records taken in (not duplicates). */
  taken = 0;

  constructor(
    private readonly settings: IntakeSettings,
    private readonly content: { has(itemId: string): boolean },
    /** The waiting events' wall clock and the items listed but not encoded yet (whose events never expire by time). */
    private readonly waitingOptions: WaitingOptions = {},
    /**
     * The window's time cut (default none: the caller cuts by size; the trainer role passes LEARN_WINDOW_MS) and its
     * growth while a step runs (default none).
     */
    policy: Partial<Pick<WindowPolicy, 'maxAgeMs' | 'growthUsers' | 'growthEvents'>> = {},
  ) {
    this.window = new MicroBatchWindow({ maxUsers: settings.batchUsers, maxEvents: settings.windowMaxEvents, maxAgeMs: 'none', ...policy });
    this.waiting = new WaitingEvents(settings.maxWaitingEvents, settings.maxWaitingMs, waitingOptions);
  }

  /** Restores the stream position and the waiting events of a checkpoint; any over the bounds now are dead-lettered. */
  restore(offsets: PartitionOffsets, waiting: WaitingEvent[]): void {
    for (const [t, p] of offsets) this.consumed.set(t, new Map(p));
    const restored = WaitingEvents.restore(waiting, this.settings.maxWaitingEvents, this.settings.maxWaitingMs, this.waitingOptions);
    this.waiting = restored.waiting;
    this.letters.push(...restored.pushedOut.map(noContent));
  }

  /** Dead-letters the waiting events that waited too long (wall clock; see WaitingEvents.expire). */
  expireWaiting(): number {
    const out = this.waiting.expire();
    this.letters.push(...out.map(noContent));
    return out.length;
  }

  /**
   * Takes one consumed record. A record below the consumed offsets is a duplicate: in the checkpoint (offsets are
   * committed after it, so a restart sees these again) or taken earlier in this process (a rebalance re-fetches from
   * the last commit).
   */
  offer(r: SourceRecord<UserEvent>): Intake {
    const next = this.consumed.get(r.topic)?.get(r.partition);
    if (next !== undefined && BigInt(r.offset) < BigInt(next)) return 'duplicate';
    let t = this.consumed.get(r.topic);
    if (!t) this.consumed.set(r.topic, (t = new Map()));
    t.set(r.partition, (BigInt(r.offset) + 1n).toString());
    this.taken++;
    const why = eventProblem(r.value, this.settings);
    if (why) {
      this.letters.push(deadLetterOf({ record: r, ...why }));
      return 'rejected';
    }
    if (this.content.has(r.value.item_id)) {
      this.window.add(r.value);
      this.arrivals.add(r.value.user_id);
      return 'windowed';
    }
    const pushedOut = this.waiting.add({ event: r.value, topic: r.topic, partition: r.partition, offset: r.offset });
    this.letters.push(...pushedOut.map(noContent));
    return 'waiting';
  }

  /** The open window, for events that need no offset bookkeeping (a historical log: pretrain's StreamPass). */
  historicalWindow(): MicroBatchWindow {
    return this.window;
  }

  /**
   * Moves waiting events whose item now has content into the window, one at a time; yields after each, so the caller
   * can train whenever `windowFull` (at full replay speed hundreds are released at once: one huge window otherwise).
   */
  *release(arrived: ReadonlySet<string>): Generator<void> {
    if (arrived.size > 0) this.pending.push(...this.waiting.release(arrived));
    while (this.pending.length > 0) {
      const w = this.pending.shift() as WaitingEvent;
      this.window.add(w.event);
      this.arrivals.add(w.event.user_id);
      this.released.push(w);
      faultPoint('waiting-release'); // LEARN_FAULT_KILL_AT: released into the open window, not trained yet
      yield;
    }
  }

  /**
   * Users whose events entered the window since the last call and are still in it: their vectors should be computed
   * again now (those of a window that trained meanwhile are published with it).
   */
  takeArrivals(): string[] {
    const out = [...this.arrivals].filter((u) => this.window.eventsOf(u) !== undefined);
    this.arrivals = new Set();
    return out;
  }

  /** The open window's events of `users` (event-time order): consumed, not learned from yet. */
  openEvents(users: Iterable<string>): Map<string, UserEvent[]> {
    const out = new Map<string, UserEvent[]>();
    for (const u of users) {
      const list = this.window.eventsOf(u);
      if (list) out.set(u, list);
    }
    return out;
  }

  /** The items waiting events are waiting for. */
  waitingItems(): IterableIterator<string> {
    return this.waiting.items();
  }

  get waitingCount(): number {
    return this.waiting.size + this.pending.length;
  }

  get windowFull(): boolean {
    return this.window.full;
  }

  /** The open window has grown to its bound while a step ran (see MicroBatchWindow.atGrowthBound). */
  get windowAtGrowthBound(): boolean {
    return this.window.atGrowthBound;
  }

  /** Users with events in the open window. */
  get windowUsers(): number {
    return this.window.users;
  }

  get windowSize(): number {
    return this.window.size;
  }

  /** Whether the open window must be cut now, by size or by age. */
  get windowDue(): boolean {
    return this.window.due();
  }

  /** The window's events per user, event-time order; from here on the window's trained state covers them. */
  takeWindow(): Map<string, UserEvent[]> {
    this.released = [];
    return this.window.take();
  }

  /** The dead letters produced so far, to be written before a checkpoint; give them back with `returnLetters` on failure. */
  takeLetters(): DeadLetter[] {
    const out = this.letters;
    this.letters = [];
    return out;
  }

  returnLetters(letters: DeadLetter[]): void {
    this.letters = [...letters, ...this.letters];
  }

  /** Sets where a partition nothing was consumed or restored from is read from (no-op for the others). */
  startAt(topic: string, partition: number, offset: string): void {
    let t = this.consumed.get(topic);
    if (!t) this.consumed.set(topic, (t = new Map()));
    if (!t.has(partition)) t.set(partition, offset);
  }

  /** The next offset to take from a partition (undefined: nothing consumed or restored from it). */
  nextOffset(topic: string, partition: number): string | undefined {
    return this.consumed.get(topic)?.get(partition);
  }

  /** A copy of the consumed offsets: after a window trains, everything below them is trained or waiting. */
  offsets(): PartitionOffsets {
    return new Map([...this.consumed].map(([t, p]) => [t, new Map(p)]));
  }

  /**
   * The waiting events a checkpoint with offsets `below` must hold: those released but not yet trained included (they
   * wait again after a restart). Events at or past those offsets are left out: a restart reads them again from Kafka,
   * and holding them too would train them twice.
   */
  waitingSnapshot(below: PartitionOffsets): WaitingEvent[] {
    const covered = (w: WaitingEvent): boolean => {
      const next = below.get(w.topic)?.get(w.partition);
      return next !== undefined && BigInt(w.offset) < BigInt(next);
    };
    return [...this.waiting.snapshot(), ...this.pending, ...this.released].filter(covered);
  }
}

function noContent(w: WaitingEvent): DeadLetter {
  return {
    topic: w.topic,
    partition: w.partition,
    offset: w.offset,
    key: Buffer.from(w.event.user_id),
    value: defaultCodec().encode('UserEvent', w.event),
    reason: 'no-content',
    error: `item ${w.event.item_id} got no content vector within the waiting bounds`,
  };
}
