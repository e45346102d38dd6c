import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultCodec, type ItemListing, type UserEvent } from '../../src/codec/index.js';
import { LISTING_EVERY, SyntheticTraffic } from '../../src/bench/synthetic-traffic.js';

const codec = defaultCodec();
const event = (m: { value: Buffer | string | null }) => codec.decode('UserEvent', m.value as Buffer) as UserEvent;
const listing = (m: { value: Buffer | string | null }) => codec.decode('ItemListing', m.value as Buffer) as ItemListing;

test('SyntheticTraffic: a fixed catalogue is listed whole before the first event, and later listings re-list its ids', () => {
  const t = new SyntheticTraffic({ label: 'soak', run: 'r1', users: 3, catalogue: 20 });
  const first = t.initialListings().map(listing);
  assert.deepEqual(first.map((l) => l.item_id), Array.from({ length: 20 }, (_, i) => `soak-${i}`));
  assert.equal(t.listed(), 20);
  const { events, listings } = t.next(3 * LISTING_EVERY);
  assert.equal(events.length, 300);
  assert.deepEqual(listings.map((m) => listing(m).item_id), ['soak-0', 'soak-1', 'soak-2'], 'one re-listing per LISTING_EVERY events');
  assert.equal(t.listed(), 20, 'the catalogue stays at its size');
  const es = events.map(event);
  assert.deepEqual(es.slice(0, 4).map((e) => e.user_id), ['u0', 'u1', 'u2', 'u0'], 'users round robin');
  assert.ok(es.every((e) => Number(e.item_id.slice('soak-'.length)) < 20), 'every event on a listed item');
  assert.equal(new Set(es.map((e) => e.item_id)).size, 20, 'events spread over the whole catalogue');
  assert.equal(new Set(es.map((e) => e.event_id)).size, 300, 'event ids unique');
  assert.ok(events.every((m, i) => m.key === es[i]!.user_id), 'keyed by user');
});

test('SyntheticTraffic: a growing catalogue starts with 50 items and adds one per LISTING_EVERY events', () => {
  const t = new SyntheticTraffic({ label: 'load', run: 'r2', users: 10 });
  assert.equal(t.initialListings().length, 50);
  const { listings } = t.next(2 * LISTING_EVERY);
  assert.deepEqual(listings.map((m) => listing(m).item_id), ['load-50', 'load-51']);
  assert.equal(t.listed(), 52);
});

test('SyntheticTraffic: refuses a non-positive user count or catalogue, naming it', () => {
  assert.throws(() => new SyntheticTraffic({ label: 'x', run: 'r', users: 0 }), /generator users/);
  assert.throws(() => new SyntheticTraffic({ label: 'x', run: 'r', users: 1, catalogue: 0 }), /generator catalogue/);
});

test('SyntheticTraffic: the events of each user spread over the catalogue (500 users, 1,000 items, 50 events each)', () => {
  const t = new SyntheticTraffic({ label: 'soak', run: 'r', users: 500, catalogue: 1000 });
  t.initialListings();
  const perUser = new Map<string, Set<string>>();
  for (const e of t.next(500 * 50).events.map(event)) perUser.set(e.user_id, (perUser.get(e.user_id) ?? new Set()).add(e.item_id));
  const distinct = [...perUser.values()].map((items) => items.size).sort((a, b) => a - b);
  // 50 uniform draws from 1,000 items repeat about one item; a stride pattern gives a handful.
  assert.ok(distinct[0]! >= 40, `fewest distinct items of a user: ${distinct[0]} of 50`);
  const all = new Set([...perUser.values()].flatMap((items) => [...items]));
  assert.ok(all.size >= 990, `items clicked: ${all.size} of 1,000`);
});
