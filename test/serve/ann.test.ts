import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { redisUrl } from '../../src/config/load.js';
import { ItemIndex } from '../../src/serve/item-index.js';
import { StoreKeys } from '../../src/store/keys.js';
import { VersionView } from '../../src/store/reader.js';
import { VectorStore } from '../../src/store/vector-store.js';
import { dropPrefix, randomVector, rng, uniquePrefix } from '../store/helpers.js';
import { ensureStack } from '../support/stack.js';

// Issue 23, item 6: past LEARN_SERVE_ANN_MIN_ITEMS, top-K re-ranks an HNSW graph's candidates exactly.
const prefix = uniquePrefix('serve-ann');
const DIM = 16;
const N = 4000;
let url: string;
let store: VectorStore;
let view: VersionView;

before(async () => {
  url = redisUrl(await ensureStack());
  store = await VectorStore.open({ redisUrl: url, prefix });
  const version = await store.beginVersion({ dim: DIM });
  const next = rng(11);
  for (let from = 0; from < N; from += 1000) {
    await store.writeItemVectors(version, Array.from({ length: 1000 }, (_, j) => ({ id: `item-${from + j}`, eventTime: 1, vector: randomVector(DIM, next) })));
  }
  await store.publishVersion(version);
  view = (await VersionView.current(store.redis, new StoreKeys(prefix)))!;
});
after(async () => {
  await store.close();
  await dropPrefix(url, prefix);
});

function recallAt10(exact: ItemIndex, ann: ItemIndex, queries: Float32Array[], exclude: ReadonlySet<string>, prior?: Parameters<ItemIndex['topK']>[3]): number {
  let hits = 0;
  for (const q of queries) {
    const want = new Set(exact.topK(q, 10, exclude, prior).map((s) => s.itemId));
    const got = ann.topK(q, 10, exclude, prior);
    assert.equal(got.length, 10);
    hits += got.filter((s) => want.has(s.itemId)).length;
    // Candidates are re-ranked exactly: every score is the true one, best first.
    for (const s of got) assert.ok(!exclude.has(s.itemId));
    for (let j = 1; j < got.length; j++) assert.ok(got[j - 1]!.score >= got[j]!.score);
  }
  return hits / (10 * queries.length);
}

test('the HNSW path finds the exact top 10 with recall@10 of at least 0.95, with exclusions and a prior', async () => {
  const exact = new ItemIndex(view);
  await exact.refresh(0);
  const ann = new ItemIndex(view);
  await ann.refresh(1000, true);
  assert.equal(exact.approximate, false);
  assert.equal(ann.approximate, true);
  assert.equal(ann.size, N);
  const next = rng(12);
  const queries = Array.from({ length: 100 }, () => randomVector(DIM, next));
  const plain = recallAt10(exact, ann, queries, new Set());
  assert.ok(plain >= 0.95, `recall@10 ${plain}`);
  // The exact top 10 of the first query excluded: the next ones must come up instead.
  const exclude = new Set(exact.topK(queries[0]!, 10, new Set()).map((s) => s.itemId));
  assert.ok(recallAt10(exact, ann, queries.slice(0, 20), exclude) >= 0.95);
  // A prior strong enough to lift popular items that are far in inner product: they come from the popularity ranking.
  const popular = Array.from({ length: 50 }, (_, j) => `item-${j * 80}`);
  const prior = { weight: 3, byId: new Map(popular.map((id, j) => [id, 1 - j / 50])), ranked: popular };
  const withPrior = recallAt10(exact, ann, queries.slice(0, 20), new Set(), prior);
  assert.ok(withPrior >= 0.95, `recall@10 with a prior ${withPrior}`);
});

test('the graph follows changed and delisted items of the same version', async () => {
  const ann = new ItemIndex(view);
  await ann.refresh(1000, true);
  const query = Float32Array.from({ length: DIM }, (_, j) => (j === 0 ? 1 : 0));
  // A new item far along the query's axis must rank first; a delisted one must never come back.
  await store.writeItemVectors(view.version, [{ id: 'item-new', eventTime: 2, vector: Float32Array.from({ length: DIM }, (_, j) => (j === 0 ? 50 : 0)) }]);
  const topBefore = ann.topK(query, 1, new Set())[0]!.itemId;
  await store.deleteItemVectors(view.version, [topBefore === 'item-new' ? 'item-1' : topBefore], 3);
  await ann.refresh(1000);
  const got = ann.topK(query, 5, new Set());
  assert.equal(got[0]?.itemId, 'item-new');
  assert.ok(!got.some((s) => s.itemId === topBefore));
  assert.equal(ann.size, N);
});
