/**
 * When the trainer checkpoints, counted in windows trained by this process. A checkpoint is taken at one moment and
 * written later (after its dead letters, its gate and its model state), so with the training thread two can be in
 * flight at once: one taken as a window finished, and the next window's, or the window timer's. What is due is
 * therefore measured from a mark, the windows a checkpoint covers, never by subtracting each checkpoint's count from
 * a running total: two overlapping checkpoints subtracted the windows they share twice, the count went below zero,
 * and a stream that ended then was never checkpointed again (a CI run's silent stall).
 */
export class CheckpointCadence {
  /** Windows trained by this process (not the checkpoint's `batches`, which counts since the pipeline began). */
  private trained = 0;
  /** Windows covered by the newest checkpoint written. */
  private writtenThrough = 0;
  private writtenAt: number;

  constructor(
    private readonly everyWindows: number,
    private readonly everyMs: number,
    now = Date.now(),
  ) {
    this.writtenAt = now;
  }

  /** A window's steps are done and its bookkeeping with them. */
  windowTrained(): void {
    this.trained++;
  }

  /** Windows trained since those of the newest checkpoint written. */
  get sinceWritten(): number {
    return this.trained - this.writtenThrough;
  }

  /** Due by either bound: windows trained since the newest checkpoint, or time since it was written. */
  due(now = Date.now()): boolean {
    return this.sinceWritten > 0 && (this.sinceWritten >= this.everyWindows || this.dueByTime(now));
  }

  /** Due by time alone (the window timer's checkpoint, between windows). */
  dueByTime(now = Date.now()): boolean {
    return this.sinceWritten > 0 && now - this.writtenAt >= this.everyMs;
  }

  /** What a checkpoint taken now covers. */
  mark(): number {
    return this.trained;
  }

  /**
   * Whether a checkpoint taken at a window's end at `mark` is covered by one already written (written later, so
   * taken no earlier): writing it would go back (older dead-letter marks and waiting events, at best the same).
   */
  superseded(mark: number): boolean {
    return mark <= this.writtenThrough && this.writtenThrough > 0;
  }

  /** A checkpoint taken at `mark` is on disk. */
  written(mark: number, now = Date.now()): void {
    this.writtenThrough = Math.max(this.writtenThrough, mark);
    this.writtenAt = now;
  }
}
