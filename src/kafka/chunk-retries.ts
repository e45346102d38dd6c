/**
 * Counts failures of the same chunk in a row (a failed chunk is read again from its first offset), so that a
 * chunk that keeps failing can be dead-lettered after a few tries instead of blocking its partition for ever.
 */
export class ChunkRetries {
  private at = '';
  private count = 0;

  constructor(readonly maxTries: number) {}

  /** Records a failure of the chunk starting at `first`; true once it has failed `maxTries` times in a row. */
  failed(first: { topic: string; partition: number; offset: string }): boolean {
    const at = `${first.topic}/${first.partition}/${first.offset}`;
    this.count = at === this.at ? this.count + 1 : 1;
    this.at = at;
    return this.count >= this.maxTries;
  }

  /** A chunk went through: the next failure starts a new count. */
  succeeded(): void {
    this.at = '';
    this.count = 0;
  }
}
