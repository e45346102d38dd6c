import TinyQueue from 'tinyqueue';
import type { UserEvent } from '../codec/index.js';

/** An event held back because its item has no content vector yet, with where it came from (for the DLQ). */
export interface WaitingEvent {
  event: UserEvent;
  topic: string;
  partition: number;
  offset: string;
}

/** A waiting event in the index: `seq` orders equal event times by arrival; `live` is cleared on release. */
interface Entry {
  w: WaitingEvent;
  seq: number;
  live: boolean;
}

const byEventTime = (a: Entry, b: Entry): number => a.w.event.ts - b.w.event.ts || a.seq - b.seq;

/**
 * Events waiting for their item's content, bounded in count and in event-time age. What falls out is
 * returned to the caller (which dead-letters it), never dropped silently. Part of the checkpoint.
 *
 * Per item an insertion-ordered set, and over all items a min-heap by event time for expiry: add and expiry
 * are O(log n), release O(k log k) for the k events released. Released events leave the heap lazily (marked
 * dead, dropped when they reach the top or when dead entries outnumber live ones).
 */
export class WaitingEvents {
  private readonly byItem = new Map<string, Set<Entry>>();
  private oldest = new TinyQueue<Entry>([], byEventTime);
  private count = 0;
  private seq = 0;

  constructor(
    readonly maxEvents: number,
    readonly maxAgeMs: number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Adds an event; returns the events pushed out (the oldest ones, over the count or age bound). */
  add(w: WaitingEvent): WaitingEvent[] {
    const entry: Entry = { w, seq: this.seq++, live: true };
    let set = this.byItem.get(w.event.item_id);
    if (!set) this.byItem.set(w.event.item_id, (set = new Set()));
    set.add(entry);
    this.oldest.push(entry);
    this.count++;
    return this.expire(w.event.ts);
  }

  /** The items that events are waiting for. */
  items(): IterableIterator<string> {
    return this.byItem.keys();
  }

  /** Removes and returns the events of items that now have content, in event-time order. */
  release(items: Iterable<string>): WaitingEvent[] {
    const out: Entry[] = [];
    for (const item of items) {
      const set = this.byItem.get(item);
      if (!set) continue;
      this.byItem.delete(item);
      this.count -= set.size;
      for (const e of set) {
        e.live = false;
        out.push(e);
      }
    }
    if (this.oldest.length > 2 * this.count + 64) this.compact();
    return out.sort(byEventTime).map((e) => e.w);
  }

  private expire(nowTs: number): WaitingEvent[] {
    const out: WaitingEvent[] = [];
    const cutoff = nowTs - this.maxAgeMs;
    for (let top = this.liveTop(); top && (this.count > this.maxEvents || top.w.event.ts < cutoff); top = this.liveTop()) {
      this.oldest.pop();
      this.remove(top);
      out.push(top.w);
    }
    return out;
  }

  /** The oldest live entry, dropping released ones above it. */
  private liveTop(): Entry | undefined {
    let top = this.oldest.peek();
    while (top && !top.live) {
      this.oldest.pop();
      top = this.oldest.peek();
    }
    return top;
  }

  private remove(e: Entry): void {
    e.live = false;
    const set = this.byItem.get(e.w.event.item_id);
    if (!set?.delete(e)) return;
    if (set.size === 0) this.byItem.delete(e.w.event.item_id);
    this.count--;
  }

  /** Rebuilds the heap from the live entries (O(n)), so released events cannot pile up in it. */
  private compact(): void {
    const live: Entry[] = [];
    for (const set of this.byItem.values()) for (const e of set) live.push(e);
    this.oldest = new TinyQueue(live, byEventTime);
  }

  /** Heap entries, live or released (for the bounded-size test). */
  get indexedEntries(): number {
    return this.oldest.length;
  }

  snapshot(): WaitingEvent[] {
    const out: WaitingEvent[] = [];
    for (const set of this.byItem.values()) for (const e of set) out.push(e.w);
    return out;
  }

  static restore(list: WaitingEvent[], maxEvents: number, maxAgeMs: number): WaitingEvents {
    const w = new WaitingEvents(maxEvents, maxAgeMs);
    for (const e of list) w.add(e);
    return w;
  }
}
