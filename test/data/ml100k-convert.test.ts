import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ml100kStream, parseMl100kMovies, parseMl100kRatings } from '../../src/data/ml100k.js';

// Columns deliberately in another order than the real file: the parser goes by the typed header.
const INTER = ['timestamp:float\tuser_id:token\titem_id:token\trating:float', '20\tu1\tB\t4', '10\tu2\tA\t5', '20\tu2\tA\t1', '10\tu1\tA\t2', ''].join('\n');
const ITEM = ['item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq', 'A\tAlpha\t1990\tDrama', 'B\tBeta (1984)\tV\tunknown', 'C\tNever Rated\t2000\tComedy Romance'].join('\n');

test('events in time order with ties in file order; each listing 1 ms before its first event', () => {
  const stream = ml100kStream(parseMl100kRatings(INTER), parseMl100kMovies(ITEM));
  const shape = stream.map((r) => (r.kind === 'listing' ? `L:${r.value.item_id}@${r.value.listed_at}` : `E:${r.value.event_id}@${r.value.ts}`));
  assert.deepEqual(shape, [
    'L:A@9999',
    'L:C@9999', // never rated: listed just before the first event of the data set
    'E:ml100k-2@10000',
    'E:ml100k-4@10000',
    'L:B@19999',
    'E:ml100k-1@20000',
    'E:ml100k-3@20000',
  ]);
  const b = stream.find((r) => r.kind === 'listing' && r.value.item_id === 'B');
  assert.deepEqual(b?.value, { item_id: 'B', title: 'Beta (1984)', category: null, brand: null, price: null, keywords: null, attributes: ['released 1984'], listed_at: 19_999 });
});

test('a missing column or a short row is named', () => {
  assert.throws(() => parseMl100kRatings('user_id:token\titem_id:token\n1\t2\n'), /no column "rating"/);
  assert.throws(() => parseMl100kMovies('item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n1\tX\t1990\n'), /:2: 3 fields, the header has 4/);
});

test('a rated item without a movie row is an error, not a silent gap', () => {
  assert.throws(() => ml100kStream(parseMl100kRatings(INTER), parseMl100kMovies(ITEM.split('\n').slice(0, 2).join('\n'))), /no movie row/);
});
