// The one shape every data set takes on its way to Kafka or to replay: listings and events in time order.
import type { ItemListing, UserEvent } from '../codec/index.js';

/** One record of a data set, tagged with the topic family it belongs to. */
export type DatasetRecord = { kind: 'listing'; value: ItemListing } | { kind: 'event'; value: UserEvent };

/** Event time of a record in epoch milliseconds: listed_at for a listing, ts for an event. */
export function recordTime(r: DatasetRecord): number {
  return r.kind === 'listing' ? r.value.listed_at : r.value.ts;
}

/**
 * Orders records by time. Stable: equal times keep their input order, except that a listing goes before an
 * event of the same millisecond (an item must exist before anyone acts on it).
 */
export function sortByTime(records: readonly DatasetRecord[]): DatasetRecord[] {
  const keyed = records.map((r, i) => ({ r, i, t: recordTime(r), k: r.kind === 'listing' ? 0 : 1 }));
  keyed.sort((a, b) => a.t - b.t || a.k - b.k || a.i - b.i);
  return keyed.map((x) => x.r);
}

/** The prefix of a stream that holds its first `events` events and every record before them. */
export function firstEvents(records: readonly DatasetRecord[], events: number): DatasetRecord[] {
  if (events <= 0) return [];
  let seen = 0;
  for (let i = 0; i < records.length; i++) {
    if (records[i]?.kind === 'event' && ++seen === events) return records.slice(0, i + 1);
  }
  return records.slice();
}
