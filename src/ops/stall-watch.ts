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
  /** A turn that awaits other watched operations: a stall names the innermost of those instead. */
  enclosing: boolean;
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
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly o: StallWatchOptions) {
    this.now = o.now ?? Date.now;
  }

  /**
   * Watches `p` under `label` until it settles; resolves or rejects as `p` does. `enclosing`: an outer turn (its
   * stall is reported under the innermost operation in flight, the one that is stuck).
   */
  track<T>(label: string, p: Promise<T>, o: { enclosing?: boolean } = {}): Promise<T> {
    if (this.closed) return p;
    const id = ++this.next;
    this.inFlight.set(id, { label, since: this.now(), warned: false, enclosing: o.enclosing ?? false });
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
        const stuck = this.innermost(now) ?? op;
        const stuckMs = now - stuck.since;
        this.o.onStall(new Error(`${this.o.component}: ${stuck.label} has not settled in ${stuckMs} ms (LEARN_STALL_TIMEOUT_MS=${this.o.timeoutMs}); in flight: ${JSON.stringify(this.operations())}`));
      }
    }
    oldestOperation.set({ component: this.o.component }, oldest / 1000);
  }

  /** The newest operation in flight past half the bound that is not an enclosing turn: the one a stall is waiting on. */
  private innermost(now: number): InFlight | undefined {
    let found: InFlight | undefined;
    for (const op of this.inFlight.values()) if (!op.enclosing && now - op.since >= this.o.timeoutMs / 2) found = op;
    return found;
  }

  /** Stops watching for good (what is in flight is forgotten; later operations are not watched). */
  close(): void {
    this.closed = true;
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
