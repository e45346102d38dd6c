/**
 * How far behind its stream a window is: the age of its oldest event by the Kafka record timestamps, which gate
 * rehearsal (LEARN_REHEARSAL_MAX_DELAY_MS). On a CreateTime topic those timestamps are the producer's clock, so each
 * is bounded by the event's arrival here: a record stamped later than its arrival counts as arrived now, and one
 * stamped further ahead than `clockSkewMs` (or not a number) is not believed at all. Its age is then unknown, and
 * an unknown age counts as behind: a wrong clock may cost a window its rehearsal, never make a stale one look fresh.
 */
export class WindowAge {
  private oldestAt: number | undefined;
  private untrusted = 0;

  constructor(private readonly clockSkewMs: number) {}

  /** Notes an event taken into the open window: its record's timestamp (ms, as Kafka gives it) and when it arrived. */
  note(recordTimestamp: string, arrivedAt: number): void {
    const at = Number(recordTimestamp);
    const believed = Number.isFinite(at) && at <= arrivedAt + this.clockSkewMs;
    if (!believed) this.untrusted++;
    this.oldestAt = Math.min(this.oldestAt ?? Infinity, believed ? Math.min(at, arrivedAt) : -Infinity);
  }

  /**
   * The age (ms) at `now` of the oldest event noted since the last call (Infinity when a timestamp was not believed),
   * then starts over. 0 when none was noted: events released from waiting carry no fresher clue, and a window of
   * them alone counts as on time.
   */
  take(now: number): number {
    const at = this.oldestAt;
    this.oldestAt = undefined;
    return at === undefined ? 0 : now - at;
  }

  /** Timestamps not believed so far (for a warning: the topic should be LogAppendTime, or a producer's clock is off). */
  get untrustedCount(): number {
    return this.untrusted;
  }
}
