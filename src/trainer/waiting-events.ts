import TinyQueue from 'tinyqueue';
import type { UserEvent } from '../codec/index.js';

/** An event held back because its item has no content vector yet, with where it came from (for the DLQ). */
export interface WaitingEvent {
  event: UserEvent;
  topic: string;
  partition: number;
  offset: string;
  /**
   * Wall-clock ms it has waited so far, carried through a checkpoint (time the trainer was down does not count).
   * Absent in checkpoints written before waiting was timed by the wall clock: it starts again at 0.
   */
  waitedMs?: number;
}

/** Which items are listed and still being encoded: their events wait however long that takes. */
export interface ListedItems {
  has(itemId: string): boolean;
}

export interface WaitingOptions {
  /** Wall clock (ms); injectable for tests. */
  now?: () => number;
  /** Items whose listing was seen and whose content has not arrived yet. */
  listed?: ListedItems;
}

/** A waiting event in the index: `since` is when its wait clock started, `seq` orders equal ones; `live` is cleared on release. */
interface Entry {
  w: WaitingEvent;
  since: number;
  seq: number;
  live: boolean;
}

const bySince = (a: Entry, b: Entry): number => a.since - b.since || a.seq - b.seq;
const byEventTime = (a: Entry, b: Entry): number => a.w.event.ts - b.w.event.ts || a.seq - b.seq;

/**
 * Events waiting for their item's content, bounded in count and in wall-clock time spent waiting (issue 11 §2.8:
 * never in event time, which one future-stamped record or a replay at full speed moves far ahead of the encoder).
 * An event whose item is listed and still being encoded does not expire by time: its wait clock restarts instead.
 * What falls out is returned to the caller (which dead-letters it), never dropped silently. Part of the checkpoint.
 *
 * Per item an insertion-ordered set, and over all items a min-heap by wait start for expiry: add and expiry are
 * O(log n), release O(k log k) for the k events released. Released events leave the heap lazily (marked dead,
 * dropped when they reach the top or when dead entries outnumber live ones).
 */
export class WaitingEvents {
  private readonly byItem = new Map<string, Set<Entry>>();
  private oldest = new TinyQueue<Entry>([], bySince);
  private count = 0;
  private seq = 0;
  private readonly now: () => number;
  private readonly listed: ListedItems;

  constructor(
    readonly maxEvents: number,
    readonly maxWaitMs: number,
    opts: WaitingOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.listed = opts.listed ?? { has: () => false };
  }

  get size(): number {
    return this.count;
  }

  /** Adds an event; returns the events pushed out (over the count bound, or waited too long). */
  add(w: WaitingEvent): WaitingEvent[] {
    const entry: Entry = { w, since: this.now() - (w.waitedMs ?? 0), seq: this.seq++, live: true };
    let set = this.byItem.get(w.event.item_id);
    if (!set) this.byItem.set(w.event.item_id, (set = new Set()));
    set.add(entry);
    this.oldest.push(entry);
    this.count++;
    return this.expire();
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

  /**
   * Pushes out what is over the count bound (longest waiting first) and what has waited longer than `maxWaitMs`
   * of wall-clock time, except events of listed items still being encoded, whose wait clock restarts. Called on
   * every add and periodically (time passes without adds).
   */
  expire(): WaitingEvent[] {
    const out: WaitingEvent[] = [];
    const now = this.now();
    for (let top = this.liveTop(); top; top = this.liveTop()) {
      const over = this.count > this.maxEvents;
      if (!over && now - top.since <= this.maxWaitMs) break;
      this.oldest.pop();
      if (!over && this.listed.has(top.w.event.item_id)) {
        // Its content is coming (the encoder lags): wait on, at the back of the line.
        top.since = now;
        top.seq = this.seq++;
        this.oldest.push(top);
        continue;
      }
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
    this.oldest = new TinyQueue(live, bySince);
  }

  /** Heap entries, live or released (for the bounded-size test). */
  get indexedEntries(): number {
    return this.oldest.length;
  }

  /** The waiting events, each with the wall-clock time it has waited so far. */
  snapshot(): WaitingEvent[] {
    const out: WaitingEvent[] = [];
    const now = this.now();
    for (const set of this.byItem.values()) for (const e of set) out.push({ ...e.w, waitedMs: Math.max(0, now - e.since) });
    return out;
  }

  /**
   * The waiting events of a checkpoint, with the time they had waited. What is over a bound at once comes back in
   * `pushedOut`, for the caller to dead-letter (never dropped silently).
   */
  static restore(list: readonly WaitingEvent[], maxEvents: number, maxWaitMs: number, opts: WaitingOptions = {}): { waiting: WaitingEvents; pushedOut: WaitingEvent[] } {
    const waiting = new WaitingEvents(maxEvents, maxWaitMs, opts);
    const pushedOut = list.flatMap((e) => waiting.add(e));
    return { waiting, pushedOut };
  }
}
