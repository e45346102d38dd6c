import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ItemListing, UserEvent } from '../../src/codec/index.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { isMovieLensCsvDir, listingTime, loadMovieLensCsv, parseMovieLensMovies, parseMovieLensRatings, tagsByMovie, titleYear } from '../../src/data/movielens-csv.js';
import { datasetStats } from '../../src/data/stats.js';
import { itemText } from '../../src/encoder/item-text.js';

const FIXTURE = join(PROJECT_ROOT, 'test/fixtures/movielens-csv');
const iso = (ms: number): string => new Date(ms).toISOString();

test('the fixture folder: quoted titles, tags joined to the item text, one event per rating, in time order', async () => {
  assert.ok(isMovieLensCsvDir(FIXTURE));
  const records = await loadMovieLensCsv(FIXTURE);
  const s = datasetStats(records);
  assert.equal(s.listings, 5);
  assert.equal(s.events, 5);
  assert.equal(s.users, 2);
  assert.equal(s.outOfOrder, 0);
  assert.equal(s.eventsBeforeListing, 0);
  const listings = new Map(records.flatMap((r) => (r.kind === 'listing' ? [[r.value.item_id, r.value] as const] : [])));
  const events = records.flatMap((r): UserEvent[] => (r.kind === 'event' ? [r.value] : []));
  assert.equal(listings.get('2')?.title, 'American President, The (1995)');
  assert.equal(listings.get('3')?.title, 'Kid Called "Ace" (2016)');
  // "pixar" twice (case-insensitive, first spelling kept) ranks before "funny, smart" once.
  assert.deepEqual(listings.get('1')?.keywords, ['pixar', 'funny, smart']);
  assert.equal(listings.get('4')?.category, null);
  assert.match(itemText(listings.get('1') as ItemListing).text, /key words of items are "pixar, funny, smart"/);
  assert.deepEqual(events.at(0), { event_id: 'movielens-6', user_id: '1', item_id: '2', type: 'rating', ts: 700_000_000_000, weight: 4.5 });
});

test('listing times: the start of the release year, never after the first rating; no year -> at the first rating', async () => {
  const records = await loadMovieLensCsv(FIXTURE);
  const at = new Map(records.flatMap((r) => (r.kind === 'listing' ? [[r.value.item_id, r.value.listed_at] as const] : [])));
  assert.equal(iso(at.get('1') as number), '1995-01-01T00:00:00.000Z', 'released 1995, first rated 1996: listed when its year began');
  assert.equal(at.get('2'), 700_000_000_000 - 1, 'rated in 1992 before its 1995 title year: listed 1 ms before that rating');
  assert.equal(at.get('3'), 1_451_606_300_000 - 1, 'first rated on 2015-12-31, a 2016 film: listed 1 ms before the rating');
  assert.equal(at.get('4'), 1_500_000_000_000 - 1, 'no year in the title: listed 1 ms before its first rating');
  assert.equal(iso(at.get('5') as number), '2006-01-01T00:00:00.000Z', 'never rated: the start of its year');
  assert.equal(listingTime(null, undefined, 1000), 999, 'never rated, no year: just before the stream starts');
});

test('titleYear reads "(YYYY)" and "(YYYY–YYYY)" at the end of a title, with trailing spaces', () => {
  assert.equal(titleYear('Heat (1995)'), 1995);
  assert.equal(titleYear('Justice League: Doom (2012) '), 2012);
  assert.equal(titleYear('Death Note: Desu nôto (2006–2007)'), 2006);
  assert.equal(titleYear('Babylon 5'), null);
  assert.equal(titleYear('1984 (not a year)'), null);
});

test('tags: distinct per movie ignoring case, most used first', () => {
  const m = tagsByMovie([
    { movieId: '1', tag: 'a' },
    { movieId: '1', tag: 'B' },
    { movieId: '1', tag: 'b' },
    { movieId: '2', tag: 'c' },
  ]);
  assert.deepEqual(m.get('1'), ['B', 'a']);
  assert.deepEqual(m.get('2'), ['c']);
});

test('malformed rows fail naming the file, the line and the field', () => {
  const ratings = 'userId,movieId,rating,timestamp\n1,1,4.0,100\n1,2,good,100\n';
  assert.throws(() => parseMovieLensRatings(ratings, 'ratings.csv'), /^CsvFormatError: ratings\.csv:3: field "rating": "good" is not a number$/);
  assert.throws(() => parseMovieLensRatings('userId,movieId,rating,timestamp\n1,1,4,1.5\n', 'ratings.csv'), /ratings\.csv:2: field "timestamp": "1\.5" is not an integer/);
  assert.throws(() => parseMovieLensRatings('userId,movieId,rating,timestamp\n1,,4,1\n', 'ratings.csv'), /ratings\.csv:2: field "movieId" is empty/);
  assert.throws(() => parseMovieLensMovies('movieId,name,genres\n1,x,y\n', 'movies.csv'), /movies\.csv:1: no column "title" \(columns: movieId, name, genres\)/);
});
