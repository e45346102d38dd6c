import type { UserEvent } from '../codec/index.js';

/** An event held back because its item has no content vector yet, with where it came from (for the DLQ). */
export interface WaitingEvent {
  event: UserEvent;
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Events waiting for their item's content, bounded in count and in event-time age. What falls out is
 * returned to the caller (which dead-letters it), never dropped silently. Part of the checkpoint.
 */
export class WaitingEvents {
  private readonly byItem = new Map<string, WaitingEvent[]>();
  private count = 0;

  constructor(
    readonly maxEvents: number,
    readonly maxAgeMs: number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Adds an event; returns the events pushed out (the oldest ones, over the count or age bound). */
  add(w: WaitingEvent): WaitingEvent[] {
    const list = this.byItem.get(w.event.item_id) ?? [];
    list.push(w);
    this.byItem.set(w.event.item_id, list);
    this.count++;
    return this.expire(w.event.ts);
  }

  /** The items that events are waiting for. */
  items(): IterableIterator<string> {
    return this.byItem.keys();
  }

  /** Removes and returns the events of items that now have content, in event-time order. */
  release(items: Iterable<string>): WaitingEvent[] {
    const out: WaitingEvent[] = [];
    for (const item of items) {
      const list = this.byItem.get(item);
      if (!list) continue;
      this.byItem.delete(item);
      this.count -= list.length;
      out.push(...list);
    }
    return out.sort((a, b) => a.event.ts - b.event.ts);
  }

  private expire(nowTs: number): WaitingEvent[] {
    const out: WaitingEvent[] = [];
    const all = () => [...this.byItem.values()].flat().sort((a, b) => a.event.ts - b.event.ts);
    if (this.count <= this.maxEvents && !this.hasOlderThan(nowTs - this.maxAgeMs)) return out;
    for (const w of all()) {
      if (this.count <= this.maxEvents && w.event.ts >= nowTs - this.maxAgeMs) break;
      this.remove(w);
      out.push(w);
    }
    return out;
  }

  private hasOlderThan(ts: number): boolean {
    for (const list of this.byItem.values()) if (list.some((w) => w.event.ts < ts)) return true;
    return false;
  }

  private remove(w: WaitingEvent): void {
    const list = this.byItem.get(w.event.item_id);
    if (!list) return;
    const i = list.indexOf(w);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byItem.delete(w.event.item_id);
    this.count--;
  }

  snapshot(): WaitingEvent[] {
    return [...this.byItem.values()].flat();
  }

  static restore(list: WaitingEvent[], maxEvents: number, maxAgeMs: number): WaitingEvents {
    const w = new WaitingEvents(maxEvents, maxAgeMs);
    for (const e of list) w.add(e);
    return w;
  }
}
