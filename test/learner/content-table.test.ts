import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ItemContent } from '../../src/codec/index.js';
import { ContentRejected, ContentTable } from '../../src/learner/content-table.js';
import { contentModelName, modelNameOfId } from '../../src/encoder/model-spec.js';

function content(itemId: string, values: number[]): ItemContent {
  const v = Float32Array.from(values);
  return { item_id: itemId, model_id: 'm@1', text_hash: 'h', dim: v.length, vector: Buffer.from(v.buffer), encoded_at: 0 };
}

test('positions address every stored item once, through updates and deletes (the negative-sampling pool)', () => {
  const t = new ContentTable();
  for (const id of ['a', 'b', 'c', 'd']) assert.ok(t.apply(id, content(id, [1, 0])));
  t.apply('b', content('b', [0, 1])); // an update keeps one position
  t.apply('a', null); // a delete moves the last item into the hole
  t.apply('zz', null); // deleting an unknown item changes nothing
  assert.equal(t.size, 3);
  const seen = Array.from({ length: t.size }, (_, i) => t.at(i));
  assert.deepEqual(seen.map((r) => r.itemId).sort(), ['b', 'c', 'd']);
  assert.deepEqual(Array.from(seen.find((r) => r.itemId === 'b')!.content), [0, 1]);
  assert.throws(() => t.at(3), /outside/);
  t.apply('a', content('a', [1, 1]));
  assert.deepEqual(Array.from({ length: t.size }, (_, i) => t.at(i).itemId).sort(), ['a', 'b', 'c', 'd']);
});

test('a vector the table cannot hold is refused with a reason the follower dead-letters, never dropped silently', () => {
  const t = new ContentTable();
  assert.ok(t.apply('a', content('a', [1, 0])));
  assert.throws(() => t.apply('b', content('b', [1, 0, 0])), (e: unknown) => e instanceof ContentRejected && e.reason === 'bad-vector-size' && /dim 3/.test(e.message));
  assert.throws(() => t.apply('c', content('c', [Number.NaN, 0])), (e: unknown) => e instanceof ContentRejected && e.reason === 'non-finite-vector');
  assert.equal(t.size, 1);
});

test('past maxItems the least recently used item is dropped; an item the intake just checked is kept', () => {
  const t = new ContentTable(undefined, 3);
  for (const id of ['a', 'b', 'c']) t.apply(id, content(id, [1, 0]));
  assert.ok(t.has('a')); // an event for a: a is now the most recently used
  t.apply('d', content('d', [0, 1]));
  assert.equal(t.size, 3);
  assert.equal(t.has('b'), false, 'b, used least recently, is dropped');
  assert.deepEqual(Array.from({ length: t.size }, (_, i) => t.at(i).itemId).sort(), ['a', 'c', 'd']);
  t.get('c'); // training reads c: of a, d, c, a is now the least recently used
  t.apply('e', content('e', [1, 1]));
  assert.deepEqual([...t.ids()].sort(), ['c', 'd', 'e']);
  assert.equal(t.evicted, 2);
});

test('content of another model than the table\'s is refused as other-model, whatever its dimension (issue 23 item 8)', () => {
  const t = new ContentTable(undefined, 10, 'm');
  assert.ok(t.apply('a', content('a', [1, 0])));
  assert.throws(() => t.apply('b', { ...content('b', [1, 0]), model_id: 'other@1' }), (e: unknown) => e instanceof ContentRejected && e.reason === 'other-model' && /other@1/.test(e.message));
  assert.equal(t.size, 1);
  assert.equal(contentModelName('all-minilm-l6-v2-q'), 'all-minilm-l6-v2-q');
  assert.equal(contentModelName('./models/my-model'), 'dir-my-model');
  assert.equal(modelNameOfId('smollm2-135m@0123456789ab+last'), 'smollm2-135m');
});
