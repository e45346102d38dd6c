import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstDirectionShare, itemSpaceReport, meanPairCosine, nearestNeighbours, uniSRecCategory, unitRows, type ItemMatrix } from '../../src/eval/item-space.js';

const matrix = (rows: number[][]): ItemMatrix => ({ rows: Float32Array.from(rows.flat()), n: rows.length, dim: rows[0]!.length });
const close = (a: number, b: number, tol = 1e-6): void => assert.ok(Math.abs(a - b) < tol, `${a} is not ${b}`);

test('mean pair cosine: exact over distinct pairs, whatever the rows\' lengths', () => {
  // Cosines: (0,1) 0, (0,2) 1, (1,2) 0 -> mean 1/3.
  close(meanPairCosine(unitRows(matrix([[2, 0], [0, 3], [5, 0]]))), 1 / 3);
  // Orthonormal rows are spread: 0; a collapsed set (every row the same direction) is 1.
  close(meanPairCosine(unitRows(matrix([[1, 0, 0], [0, 1, 0], [0, 0, 1]]))), 0);
  close(meanPairCosine(unitRows(matrix([[1, 1], [2, 2], [3, 3]]))), 1);
});

test('first direction share: 1 when every row is on one line, 1/dim for an even spread; centring removes a shared offset', () => {
  close(firstDirectionShare(unitRows(matrix([[1, 1], [2, 2], [-1, -1]])), false), 1);
  close(firstDirectionShare(unitRows(matrix([[1, 0, 0], [0, 1, 0], [0, 0, 1], [-1, 0, 0], [0, -1, 0], [0, 0, -1]])), false), 1 / 3);
  // A dominant shared direction (x) with small differences along y and z: uncentred, x holds most of the energy;
  // centred, the offset is gone and y (the larger difference) leads.
  const m = unitRows(matrix([[10, 2, 0], [10, -2, 0], [10, 0, 1], [10, 0, -1]]));
  assert.ok(firstDirectionShare(m, false) > 0.95);
  const centred = firstDirectionShare(m, true);
  assert.ok(centred > 0.7 && centred < 0.9, `centred share ${centred}`);
});

test('nearest neighbours: by cosine, nearest first, never the item itself, ties by catalogue order', () => {
  const nn = nearestNeighbours(unitRows(matrix([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [1, 0]])), 2);
  assert.equal(nn.k, 2);
  assert.deepEqual([...nn.index.slice(0, 2)], [4, 1]);
  assert.deepEqual([...nn.index.slice(2 * 2, 2 * 2 + 2)], [3, 1]);
  assert.deepEqual([...nn.index.slice(4 * 2, 4 * 2 + 2)], [0, 1]);
  close(nn.cosine[0]!, 1);
  // k larger than the other items: every other item.
  assert.equal(nearestNeighbours(unitRows(matrix([[1, 0], [0, 1]])), 10).k, 1);
});

test('item-space report: category agreement against its chance rate, held-back pairs found among neighbours', () => {
  // Two clusters by direction; labels follow the clusters except item 5, unlabelled item 6.
  const m = matrix([[1, 0.1], [1, 0], [1, -0.1], [0.1, 1], [0, 1], [-0.1, 1], [0.7, 0.7]]);
  const labels = ['a', 'a', 'a', 'b', 'b', 'a', undefined];
  const r = itemSpaceReport(m, { labels, pairs: [[0, 1], [0, 4], [3, 5]] }, 2);
  assert.equal(r.k, 2);
  assert.equal(r.labelled, 6);
  // Neighbours at k 2 (item 6 sits between the clusters, nearer each edge than the far members):
  // 0 -> 1, 2 (a, a: 1); 1 -> 0, 2 (1); 2 -> 1, 0 (1); 3 -> 4, 5 (b, a: 1/2); 4 -> 3, 5 (1/2); 5 -> 4, 3 (a vs b, b: 0).
  close(r.categoryAgreement, (1 + 1 + 1 + 0.5 + 0.5 + 0) / 6);
  // Chance: an 'a' item has 3 other 'a' of 6 others, a 'b' item 1 of 6.
  close(r.categoryBaseRate, (4 * (3 / 6) + 2 * (1 / 6)) / 6);
  close(r.nextItemHit, 2 / 3);
  assert.equal(r.pairs, 3);
  assert.ok(r.meanPairCosine > 0 && r.meanPairCosine < 1);
  assert.throws(() => itemSpaceReport(m, { labels: ['a'], pairs: [] }), /1 labels for 7 items/);
});

test('a collapsed item space reads as collapsed: mean cosine and first-direction share near 1, neighbours at cosine ~1', () => {
  const rows: number[][] = [];
  for (let i = 0; i < 20; i++) rows.push([10, Math.sin(i) * 0.05, Math.cos(i * 1.7) * 0.05, ((i % 3) - 1) * 0.05]);
  const r = itemSpaceReport(matrix(rows), { labels: rows.map(() => undefined), pairs: [] }, 5);
  assert.ok(r.meanPairCosine > 0.99, `mean cosine ${r.meanPairCosine}`);
  assert.ok(r.firstDirectionShare > 0.99);
  assert.ok(r.neighbourCosine > 0.999);
  assert.equal(r.categoryAgreement, 0);
  assert.equal(r.nextItemHit, 0);
});

test('UniSRec text category: the field before the brand, empty fields and short texts give none', () => {
  assert.equal(uniSRecCategory('Gorilla Glue, 8 ounce Bottle, Brown. Industrial & Scientific Tapes Urethane Adhesives. Gorilla. '), 'Industrial & Scientific Tapes Urethane Adhesives');
  assert.equal(uniSRecCategory('Wipers, 4.4 x 8.4 in. 1-ply. Lab Supplies Wipes. Kimberly-Clark. '), 'Lab Supplies Wipes');
  assert.equal(uniSRecCategory('Ancor Lugs 8 AWG. Industrial & Scientific Terminals. . '), 'Industrial & Scientific Terminals');
  assert.equal(uniSRecCategory('CLR Remover, 1 Gallon Bottle. . CLR. '), undefined);
  assert.equal(uniSRecCategory('Just a title'), undefined);
});
