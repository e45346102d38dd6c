import { DAY_MS } from '../config/constants.js';
import type { DatasetRecord } from './stream.js';
import { recordTime } from './stream.js';

/** What `learn data stats` prints. Times are epoch ms and ISO-8601 (UTC) for reading. */
export interface DatasetStats {
  listings: number;
  events: number;
  users: number;
  /** Distinct items that were listed or acted on. */
  items: number;
  listedItems: number;
  eventTypes: Record<string, number>;
  /** Events whose item had no listing earlier in the stream (a trainer cannot score them). */
  eventsBeforeListing: number;
  /** Records whose time is earlier than the record before them (0 for a stream in time order). */
  outOfOrder: number;
  firstTime: number | null;
  lastTime: number | null;
  firstIso: string | null;
  lastIso: string | null;
  spanDays: number;
}

export function datasetStats(records: Iterable<DatasetRecord>): DatasetStats {
  let listings = 0;
  let events = 0;
  let eventsBeforeListing = 0;
  let outOfOrder = 0;
  let first: number | null = null;
  let last: number | null = null;
  let prev = Number.NEGATIVE_INFINITY;
  const users = new Set<string>();
  const items = new Set<string>();
  const listed = new Set<string>();
  const eventTypes: Record<string, number> = {};
  for (const r of records) {
    const t = recordTime(r);
    if (t < prev) outOfOrder++;
    prev = t;
    first = first === null ? t : Math.min(first, t);
    last = last === null ? t : Math.max(last, t);
    if (r.kind === 'listing') {
      listings++;
      listed.add(r.value.item_id);
      items.add(r.value.item_id);
    } else {
      events++;
      users.add(r.value.user_id);
      items.add(r.value.item_id);
      eventTypes[r.value.type] = (eventTypes[r.value.type] ?? 0) + 1;
      if (!listed.has(r.value.item_id)) eventsBeforeListing++;
    }
  }
  const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());
  return {
    listings,
    events,
    users: users.size,
    items: items.size,
    listedItems: listed.size,
    eventTypes,
    eventsBeforeListing,
    outOfOrder,
    firstTime: first,
    lastTime: last,
    firstIso: iso(first),
    lastIso: iso(last),
    spanDays: first === null || last === null ? 0 : (last - first) / DAY_MS,
  };
}
