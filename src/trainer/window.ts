import type { UserEvent } from '../codec/index.js';

/**
 * When a micro-batch window is cut: at `maxUsers` users with new events, at `maxEvents` events (bursty users, or a
 * replay at full speed, would otherwise make huge windows, and fewer, larger steps learn less from the same events),
 * or once it has been open `maxAgeMs` of wall-clock time. `maxAgeMs: 'none'` is the replay's protocol: windows are cut
 * by size only (a seed gives the same windows however fast the machine is), the last one when the stream ends.
 */
export interface WindowPolicy {
  maxUsers: number;
  maxEvents: number;
  maxAgeMs: number | 'none';
  /**
   * How far a full window may grow while it cannot be cut (a training step still runs in the training thread): see
   * `atGrowthBound`. Absent (or below the normal cut): no growth.
   */
  growthUsers?: number;
  growthEvents?: number;
}

/**
 * The open micro-batch: new events grouped by user, in arrival order per user, cut by its WindowPolicy (the streaming
 * form of the paper's history/target split: what came before the window is history, the window's events are targets).
 */
export class MicroBatchWindow {
  private byUser = new Map<string, UserEvent[]>();
  private openedAt = 0;
  private events = 0;
  /** Windows in a row taken past the normal cut: each may grow twice as far as the one before. */
  private grownInARow = 0;

  constructor(private readonly policy: WindowPolicy) {}

  /** Whether the window must be cut now by its size (checked after each add). */
  get full(): boolean {
    return this.byUser.size >= this.policy.maxUsers || this.events >= this.policy.maxEvents;
  }

  /** Whether the window must be cut now, by its size or its age (checked as time passes). */
  due(now = Date.now()): boolean {
    if (this.events === 0) return false;
    return this.full || (this.policy.maxAgeMs !== 'none' && this.ageMs(now) >= this.policy.maxAgeMs);
  }

  /**
   * Whether a full window that could not be cut (a training step still runs) has grown to its bound: it takes no more
   * events until it is cut. The bound doubles with each window in a row that grew (twice the normal cut for the
   * first), up to the growth limits: one slow step does not make one huge window, a lasting load does. Without
   * growth limits, the same as `full`.
   */
  get atGrowthBound(): boolean {
    const factor = 2 ** (this.grownInARow + 1);
    const bound = (normal: number, limit = 0): number => Math.max(normal, Math.min(limit, normal * factor));
    return this.byUser.size >= bound(this.policy.maxUsers, this.policy.growthUsers) || this.events >= bound(this.policy.maxEvents, this.policy.growthEvents);
  }

  get users(): number {
    return this.byUser.size;
  }

  get size(): number {
    return this.events;
  }

  add(e: UserEvent): void {
    if (this.events === 0) this.openedAt = Date.now();
    const list = this.byUser.get(e.user_id);
    if (list) list.push(e);
    else this.byUser.set(e.user_id, [e]);
    this.events++;
  }

  /** A user's events in the window so far, in event-time order (a copy). */
  eventsOf(userId: string): UserEvent[] | undefined {
    const list = this.byUser.get(userId);
    return list && [...list].sort((a, b) => a.ts - b.ts);
  }

  ageMs(now = Date.now()): number {
    return this.events === 0 ? 0 : now - this.openedAt;
  }

  /** Empties the window and returns its events per user, each user's in event-time order. */
  take(): Map<string, UserEvent[]> {
    const out = this.byUser;
    this.grownInARow = this.byUser.size > this.policy.maxUsers || this.events > this.policy.maxEvents ? this.grownInARow + 1 : 0;
    for (const list of out.values()) list.sort((a, b) => a.ts - b.ts);
    this.byUser = new Map();
    this.events = 0;
    return out;
  }
}
