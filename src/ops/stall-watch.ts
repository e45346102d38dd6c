import { Gauge } from 'prom-client';
import type { Logger } from 'pino';
import { registry } from './metrics.js';

const oldestOperation = new Gauge({
  name: 'learn_oldest_operation_seconds',
  help: 'Age of the oldest watched operation still in flight (0: none); the role fails once it passes LEARN_STALL_TIMEOUT_MS',
  labelNames: ['component'],
  registers: [registry],
});

interface InFlight {
  label: string;
  since: number;
  warned: boolean;
}

export interface StallWatchOptions {
  /** Metric label and log context: which part of the role is watched. */
  component: string;
  /** An operation in flight this long (ms) fails the role through `onStall`. */
  timeoutMs: number;
  /** Told once, with the operation that outlasted the bound. */
  onStall: (err: Error) => void;
  log: Logger;
  /** How often in-flight operations are looked at (ms). */
  checkEveryMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * A watchdog over awaited operations that must settle (a step in the training thread, a checkpoint write, the vector
 * gate): one that never does would stall the role without a word, since nothing else waits with a bound. Past half
 * the bound it is logged, past the bound the role fails loudly, naming it, and a restart resumes from the last
 * checkpoint. The metric shows the oldest age meanwhile.
 */
export class StallWatch {
  private readonly inFlight = new Map<number, InFlight>();
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private stalled = false;
  private readonly now: () => number;

  constructor(private readonly o: StallWatchOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Watches `p` under `label` until it settles; resolves or rejects as `p` does. */
  track<T>(label: string, p: Promise<T>): Promise<T> {
    const id = ++this.next;
    this.inFlight.set(id, { label, since: this.now(), warned: false });
    this.arm();
    return p.finally(() => {
      this.inFlight.delete(id);
      if (this.inFlight.size === 0) this.disarm();
    });
  }

  /** The labels in flight now, oldest first, with their ages (ms). */
  operations(): Array<{ label: string; ms: number }> {
    const now = this.now();
    return [...this.inFlight.values()].map((op) => ({ label: op.label, ms: now - op.since }));
  }

  /** Looks at the operations in flight now (the timer calls it). */
  check(): void {
    const now = this.now();
    let oldest = 0;
    for (const op of this.inFlight.values()) {
      const ms = now - op.since;
      oldest = Math.max(oldest, ms);
      if (!op.warned && ms >= this.o.timeoutMs / 2) {
        op.warned = true;
        this.o.log.warn({ operation: op.label, ms, timeoutMs: this.o.timeoutMs }, 'operation still in flight past half of LEARN_STALL_TIMEOUT_MS');
      }
      if (!this.stalled && ms >= this.o.timeoutMs) {
        this.stalled = true;
        this.o.onStall(new Error(`${this.o.component}: ${op.label} has not settled in ${ms} ms (LEARN_STALL_TIMEOUT_MS=${this.o.timeoutMs}); in flight: ${JSON.stringify(this.operations())}`));
      }
    }
    oldestOperation.set({ component: this.o.component }, oldest / 1000);
  }

  /** Stops watching (what is in flight is forgotten). */
  close(): void {
    this.disarm();
    this.inFlight.clear();
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.check(), this.o.checkEveryMs ?? 1_000);
    // A watch never keeps the process alive by itself.
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    oldestOperation.set({ component: this.o.component }, 0);
  }
}
