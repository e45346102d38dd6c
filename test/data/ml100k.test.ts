import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { encode } from '../../src/codec/index.js';
import { datasetStats } from '../../src/data/stats.js';
import { fetchMl100k } from '../../src/data/ml100k-fetch.js';
import { loadMl100k } from '../../src/data/ml100k.js';
import { recordTime, type DatasetRecord } from '../../src/data/stream.js';
import type { ItemListing, UserEvent } from '../../src/codec/index.js';
import { ml100kFiles } from './ml100k-helper.js';

let records: DatasetRecord[];
before(async () => {
  records = await loadMl100k(await ml100kFiles());
});

const listings = (): ItemListing[] => records.flatMap((r) => (r.kind === 'listing' ? [r.value] : []));
const events = (): UserEvent[] => records.flatMap((r) => (r.kind === 'event' ? [r.value] : []));

test('the real ml-100k: 100,000 rating events by 943 users on 1,682 items, one listing per item', () => {
  const s = datasetStats(records);
  assert.equal(s.events, 100_000);
  assert.equal(s.users, 943);
  assert.equal(s.items, 1682);
  assert.equal(s.listings, 1682);
  assert.equal(s.listedItems, 1682);
  assert.deepEqual(s.eventTypes, { rating: 100_000 });
  assert.equal(new Set(events().map((e) => e.event_id)).size, 100_000, 'event ids are unique');
});

test('time never goes backwards over the whole stream', () => {
  for (let i = 1; i < records.length; i++) {
    assert.ok(recordTime(records[i - 1]!) <= recordTime(records[i]!), `record ${i} goes back in time`);
  }
});

test("every item's listing comes before its first event, dated 1 ms before it, and every event's item is listed before it", () => {
  const listedAt = new Map<string, number>();
  const firstEvent = new Map<string, number>();
  for (const r of records) {
    if (r.kind === 'listing') {
      assert.ok(!listedAt.has(r.value.item_id), `item ${r.value.item_id} listed twice`);
      listedAt.set(r.value.item_id, r.value.listed_at);
    } else {
      assert.ok(listedAt.has(r.value.item_id), `event ${r.value.event_id} on item ${r.value.item_id} before its listing`);
      if (!firstEvent.has(r.value.item_id)) firstEvent.set(r.value.item_id, r.value.ts);
    }
  }
  for (const [item, t] of firstEvent) assert.equal(listedAt.get(item), t - 1, `item ${item}`);
});

test('events keep the file row as their id, the rating as weight and the timestamp in ms; ties keep file order', () => {
  const byId = new Map(events().map((e) => [e.event_id, e]));
  // The first data row of ml-100k.inter: 196 242 3 881250949.
  assert.deepEqual(byId.get('ml100k-1'), { event_id: 'ml100k-1', user_id: '196', item_id: '242', type: 'rating', ts: 881_250_949_000, weight: 3 });
  const rows = events().map((e) => Number(e.event_id.slice('ml100k-'.length)));
  const ev = events();
  for (let i = 1; i < ev.length; i++) {
    if (ev[i]!.ts === ev[i - 1]!.ts) assert.ok(rows[i]! > rows[i - 1]!, `tie at ${ev[i]!.ts} out of file order`);
  }
});

test('listings carry title, genres as category and the year as an attribute; placeholder years are handled', () => {
  const byItem = new Map(listings().map((l) => [l.item_id, l]));
  const toyStory = byItem.get('1');
  assert.equal(toyStory?.title, 'Toy Story');
  assert.equal(toyStory?.category, "Animation, Children's, Comedy");
  assert.deepEqual(toyStory?.attributes, ['released 1995']);
  assert.equal(toyStory?.brand, null);
  // Row 267 has "unkonwn" for title and year and "unknown" for genre.
  assert.equal(byItem.get('267')?.attributes, null);
  assert.equal(byItem.get('267')?.category, null);
  // Row 1412 has "V" for the year; its title still says (1995).
  assert.deepEqual(byItem.get('1412')?.attributes, ['released 1995']);
  assert.equal(byItem.get('543')?.title, 'Misérables, Les');
});

test('every record passes the Avro schema of its topic', () => {
  for (const r of records) {
    if (r.kind === 'listing') encode('ItemListing', r.value);
    else encode('UserEvent', r.value);
  }
});

test('a second fetch reuses the cached, hash-checked copy', async () => {
  const first = await ml100kFiles();
  const again = await fetchMl100k({ dataDir: first.dir.slice(0, -'/ml-100k'.length) });
  assert.equal(again.manifest.fetchedAt, first.manifest.fetchedAt);
  assert.equal(again.manifest.files['ml-100k.inter']?.sha256, '4edb74e2a81178c2ba9ff381495f754f996c4aea351b1272ca36b43da0935eff');
});
