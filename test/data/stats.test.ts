import assert from 'node:assert/strict';
import { test } from 'node:test';
import { datasetStats } from '../../src/data/stats.js';
import { firstEvents, type DatasetRecord } from '../../src/data/stream.js';

const listing = (item: string, t: number): DatasetRecord => ({
  kind: 'listing',
  value: { item_id: item, title: item, category: null, brand: null, price: null, keywords: null, attributes: null, listed_at: t },
});
const event = (id: string, user: string, item: string, t: number): DatasetRecord => ({
  kind: 'event',
  value: { event_id: id, user_id: user, item_id: item, type: 'click', ts: t, weight: null },
});

const stream = [listing('a', 0), event('1', 'u', 'a', 86_400_000), event('2', 'v', 'b', 86_400_000), listing('b', 2 * 86_400_000), event('3', 'u', 'b', 2 * 86_400_000)];

test('stats count events, users, items, events before their listing and the time span', () => {
  const s = datasetStats(stream);
  assert.equal(s.listings, 2);
  assert.equal(s.events, 3);
  assert.equal(s.users, 2);
  assert.equal(s.items, 2);
  assert.equal(s.eventsBeforeListing, 1);
  assert.equal(s.outOfOrder, 0);
  assert.equal(s.spanDays, 2);
  assert.equal(s.firstIso, '1970-01-01T00:00:00.000Z');
});

test('firstEvents keeps the first N events and the listings before them', () => {
  assert.deepEqual(firstEvents(stream, 2), stream.slice(0, 3));
  assert.deepEqual(firstEvents(stream, 3), stream);
  assert.deepEqual(firstEvents(stream, 99), stream);
  assert.deepEqual(firstEvents(stream, 0), []);
});
