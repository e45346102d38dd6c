/**
 * The order of one writer's vector writes (issue 11 §2.8). The write script applies a vector only over a lower order,
 * so a newer computation always wins and a retried or re-sent older write never does, whatever the event times of
 * the records behind them (a future-stamped event froze a user's vector under the old event-time guard; late events
 * and recomputations with new weights were refused).
 *
 * One trainer owns the keys (the state-directory lock), so its own clock orders them: wall-clock ms made strictly
 * increasing, and raised past the highest order a version already holds (`atLeast`) when the trainer (re)starts, so
 * a restart on a host whose clock is behind does not have its writes refused.
 */
export class WriteOrder {
  private last = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** The next order: later than every one given before. */
  next(): number {
    this.last = Math.max(this.now(), this.last + 1);
    return this.last;
  }

  /** Makes every later order higher than `order` (one seen in Redis). */
  atLeast(order: number): void {
    if (Number.isSafeInteger(order) && order > this.last) this.last = order;
  }
}
