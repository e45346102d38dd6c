/**
 * Which item vectors to re-publish after each trained window so that none in a version is older than `boundSteps`
 * optimizer steps (issue 23 item 7): user vectors are written with the newest weights, and an item vector written at
 * a version's build would otherwise be up to LEARN_VERSION_EVERY_STEPS steps older than the user vectors it is
 * scored against. The catalogue is walked in rounds, a slice per window sized by the steps the window took, so a
 * whole round takes `boundSteps` steps and the work is spread evenly. 0: off (items change only at version builds
 * and when their content arrives). The trainer's publisher and the replay's stale-item scoring share it.
 */
export class ItemRefreshRound {
  private round: string[] = [];
  private next = 0;
  /** Items owed by the steps taken so far (fractional; negative when a slice was rounded up). */
  private owed = 0;

  constructor(private readonly boundSteps: number) {
    if (!(Number.isInteger(boundSteps) && boundSteps >= 0)) throw new Error(`item refresh bound must be an integer >= 0 steps, got ${boundSteps}`);
  }

  get enabled(): boolean {
    return this.boundSteps > 0;
  }

  /**
   * The items due after `steps` more optimizer steps, from `catalogue` (read when a round begins: items that arrive
   * later are written as they arrive, and join the next round; ids gone meanwhile are the caller's to skip).
   */
  due(steps: number, catalogue: () => Iterable<string>): string[] {
    if (!this.enabled || steps <= 0) return [];
    if (this.next >= this.round.length) this.begin(catalogue);
    // More steps than a round takes refresh every item once, not some twice.
    this.owed = Math.min(this.owed + (this.round.length * steps) / this.boundSteps, this.round.length);
    const out: string[] = [];
    // Rounded up: the round ends within boundSteps steps of its start, never after.
    while (this.owed > 1e-9 && this.round.length > 0) {
      if (this.next >= this.round.length) {
        // A new round starts from the weights as they are now; what the last round still owed is carried over.
        this.begin(catalogue);
        if (this.round.length === 0) break;
      }
      out.push(this.round[this.next++] as string);
      this.owed -= 1;
    }
    return out;
  }

  private begin(catalogue: () => Iterable<string>): void {
    this.round = [...catalogue()];
    this.next = 0;
  }
}
