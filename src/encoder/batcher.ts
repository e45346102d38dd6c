/**
 * Dynamic batching: callers submit one item and await its result; items are grouped until maxBatch are
 * waiting or the oldest has waited maxWaitMs, then run together. Items that are waiting at the same time
 * (up to sortWindow batches' worth) are sorted by size before being cut into batches, so similar lengths
 * share a batch and padding shrinks. One batch runs at a time; items arriving meanwhile gather for the next.
 */
export interface DynamicBatcherOptions<T, R> {
  maxBatch: number;
  maxWaitMs: number;
  /** Returns one result per item, in the order given. */
  runBatch: (items: T[]) => Promise<R[]>;
  /** Sort key, e.g. token count; without it, arrival order is kept. */
  sizeOf?: (item: T) => number;
  /** How many batches' worth of waiting items are sorted together (default 4). */
  sortWindow?: number;
}

interface Pending<T, R> {
  item: T;
  size: number;
  enqueuedAt: number;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

export class BatcherClosedError extends Error {
  constructor() {
    super('batcher is closed');
    this.name = 'BatcherClosedError';
  }
}

export class DynamicBatcher<T, R> {
  private readonly queue: Array<Pending<T, R>> = [];
  private running = false;
  private closing = false;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private drained: Array<() => void> = [];
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;
  private readonly sortWindow: number;

  constructor(private readonly opts: DynamicBatcherOptions<T, R>) {
    if (!(opts.maxBatch >= 1)) throw new Error('maxBatch must be at least 1');
    this.maxBatch = Math.floor(opts.maxBatch);
    this.maxWaitMs = Math.max(0, opts.maxWaitMs);
    this.sortWindow = Math.max(1, Math.floor(opts.sortWindow ?? 4));
  }

  /** Items waiting for a batch (not counting the batch in flight). */
  get pending(): number {
    return this.queue.length;
  }

  submit(item: T): Promise<R> {
    if (this.closing) return Promise.reject(new BatcherClosedError());
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, size: this.opts.sizeOf?.(item) ?? 0, enqueuedAt: Date.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Stops taking items, runs everything already submitted, and resolves when the last batch is done. */
  close(): Promise<void> {
    this.closing = true;
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.drained.push(resolve));
    this.schedule();
    return done;
  }

  private schedule(): void {
    if (this.running) return; // the loop picks new items up when the current batch ends
    if (this.queue.length >= this.maxBatch || this.closing) {
      // setImmediate, not a direct call: items submitted in the same tick join the batch and the sort.
      this.immediate ??= setImmediate(() => {
        this.immediate = undefined;
        void this.loop();
      });
    } else if (this.timer === undefined && this.queue.length > 0) {
      const oldest = this.queue[0]!.enqueuedAt;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.loop();
      }, Math.max(0, oldest + this.maxWaitMs - Date.now()));
    }
  }

  private due(): boolean {
    const oldest = this.queue[0];
    if (oldest === undefined) return false;
    return this.closing || this.queue.length >= this.maxBatch || Date.now() >= oldest.enqueuedAt + this.maxWaitMs;
  }

  private async loop(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    try {
      while (this.due()) {
        const window = this.queue.splice(0, this.maxBatch * this.sortWindow);
        if (this.opts.sizeOf) window.sort((a, b) => a.size - b.size); // stable: equal sizes keep arrival order
        for (let i = 0; i < window.length; i += this.maxBatch) {
          await this.runOne(window.slice(i, i + this.maxBatch));
        }
      }
    } finally {
      this.running = false;
    }
    if (this.queue.length > 0) {
      this.schedule();
    } else if (this.closing) {
      for (const resolve of this.drained.splice(0)) resolve();
    }
  }

  private async runOne(batch: Array<Pending<T, R>>): Promise<void> {
    try {
      const results = await this.opts.runBatch(batch.map((p) => p.item));
      if (results.length !== batch.length) {
        throw new Error(`runBatch returned ${results.length} results for ${batch.length} items`);
      }
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
