import assert from 'node:assert/strict';
import { test } from 'node:test';
import { candidateIndex, ItemKnn } from '../../src/knn/item-knn.js';

const close = (a: number, b: number): void => assert.ok(Math.abs(a - b) < 1e-6, `${a} != ${b}`);

test('co-occurrence within a user, cosine-normalised by the items\' counts', () => {
  const knn = new ItemKnn({ pairWindow: 10, queryItems: 5 });
  knn.observe('u', 'a');
  knn.observe('u', 'b');
  knn.observe('v', 'a');
  knn.observe('v', 'c');
  knn.observe('w', 'a');
  // a: 3 interactions, b: 1; they co-occur once.
  close(knn.similarity('a', 'b'), 1 / Math.sqrt(3));
  close(knn.similarity('b', 'a'), 1 / Math.sqrt(3));
  assert.equal(knn.similarity('b', 'c'), 0, 'b and c never share a user');
  assert.equal(knn.similarity('a', 'zzz'), 0);
});

test('scores sum the similarity to the last queryItems items, updated as events arrive', () => {
  const knn = new ItemKnn({ pairWindow: 10, queryItems: 1 });
  const idx = candidateIndex(['a', 'b', 'c']);
  knn.observe('u', 'a');
  knn.observe('u', 'b');
  assert.deepEqual([...(knn.scores(['x', 'a'], idx) as Float32Array)], [0, 1, 0], 'only the last item queries');
  knn.observe('v', 'a');
  knn.observe('v', 'c');
  const s = knn.scores(['a'], idx) as Float32Array;
  close(s[1] as number, 1 / Math.sqrt(2));
  close(s[2] as number, 1 / Math.sqrt(2));
  assert.equal(knn.scores([], idx), undefined, 'no history, no scores');
  const two = new ItemKnn({ pairWindow: 10, queryItems: 2 });
  two.observe('u', 'a');
  two.observe('u', 'b');
  two.observe('u', 'c');
  const t = two.scores(['a', 'b'], idx) as Float32Array;
  close(t[2] as number, 2);
});

test('pairWindow bounds how far back an event pairs; repeats pair once', () => {
  const knn = new ItemKnn({ pairWindow: 2, queryItems: 5 });
  for (const i of ['a', 'b', 'c', 'd']) knn.observe('u', i);
  assert.equal(knn.similarity('d', 'a'), 0, 'a fell out of the window of d');
  assert.ok(knn.similarity('d', 'b') > 0);
  const rep = new ItemKnn({ pairWindow: 5, queryItems: 5 });
  for (const i of ['a', 'b', 'a', 'b']) rep.observe('u', i);
  // a and b pair at each of the 3 events after the first: 3 co-occurrences, 2 interactions each.
  close(rep.similarity('a', 'b'), 3 / 2);
  assert.throws(() => new ItemKnn({ pairWindow: 0, queryItems: 1 }), /pairWindow must be a positive integer/);
});
