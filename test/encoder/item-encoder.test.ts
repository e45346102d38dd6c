import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ItemEncoder } from '../../src/encoder/item-encoder.js';
import { cosine, FP32_MODEL, loadTestEncoder } from './model-helper.js';

let enc: ItemEncoder;

before(async () => {
  enc = await loadTestEncoder();
});
after(async () => {
  await enc.close();
});

test('the default model: 384-d, mean pooling, 128-token truncation, on CPU here', () => {
  assert.equal(enc.dim, 384);
  assert.equal(enc.pooling, 'mean');
  assert.equal(enc.maxTokens, 128);
  assert.match(enc.modelId, /^all-minilm-l6-v2-q@[0-9a-f]{12}$/);
  assert.ok(enc.provider === 'cpu' || enc.provider === 'cuda');
});

test('vectors are unit length and deterministic', async () => {
  const a = await enc.encode('a red running shoe');
  const b = await enc.encode('a red running shoe');
  assert.equal(a.length, 384);
  assert.ok(a instanceof Float32Array);
  assert.deepEqual(a, b);
  assert.ok(Math.abs(cosine(a, a) - 1) < 1e-5);
});

test('matches the reference MiniLM embedding of "hello world" (int8 stays close to fp32)', async () => {
  // First values of sentence-transformers/all-MiniLM-L6-v2 for "hello world" (fp32, mean pooled, normalised).
  const reference = [-0.03448, 0.03102, 0.00673, 0.02611, -0.03936, -0.1603, 0.06692, -0.00644];
  const v = await enc.encode('hello world');
  reference.forEach((r, i) => assert.ok(Math.abs(v[i]! - r) < 0.015, `[${i}] ${v[i]} vs ${r}`));
});

test('semantically close texts score higher than unrelated ones', async () => {
  const triples: Array<[string, string, string]> = [
    ['a red running shoe', 'crimson sneakers for jogging', 'a tax law textbook'],
    ['stainless steel espresso machine', 'coffee maker for home baristas', 'children\'s watercolor paint set'],
    ['wireless noise cancelling headphones', 'bluetooth over-ear headset', 'organic dog food for puppies'],
    ['a thriller novel about a detective', 'crime mystery book', 'garden hose with spray nozzle'],
  ];
  for (const [anchor, near, far] of triples) {
    const [a, n, f] = await enc.encodeBatch([anchor, near, far]);
    const sNear = cosine(a!, n!);
    const sFar = cosine(a!, f!);
    assert.ok(sNear > sFar + 0.1, `"${anchor}": near ${sNear.toFixed(3)} vs far ${sFar.toFixed(3)}`);
  }
});

test('fp32: a batch gives exactly the one-by-one vectors, despite padding', async () => {
  const fp32 = await loadTestEncoder({ model: FP32_MODEL });
  try {
    const texts = ['short', 'a somewhat longer product title with several words', 'mid length text here'];
    const batched = await fp32.encodeBatch(texts);
    for (let i = 0; i < texts.length; i++) {
      const single = await fp32.encode(texts[i]!);
      assert.ok(cosine(single, batched[i]!) > 0.99999, `row ${i}`);
    }
  } finally {
    await fp32.close();
  }
});

test('the same text gives the bit-identical vector whatever its batch-mates, batch order and batch size (int8 too)', async () => {
  const texts = ['short', 'a somewhat longer product title with several words', 'mid length text here', 'Vintage leather boots, size 9, barely worn', 'x'];
  const alone = await Promise.all(texts.map((t) => enc.encode(t)));
  const batches = [texts, [...texts].reverse(), [texts[1]!, texts[3]!], [texts[4]!, texts[0]!, texts[2]!, texts[1]!], [...texts, ...texts]];
  for (const batch of batches) {
    const got = await enc.encodeBatch(batch);
    batch.forEach((t, i) => assert.deepEqual(Array.from(got[i]!), Array.from(alone[texts.indexOf(t)]!), `"${t}" in a batch of ${batch.length}`));
  }
  assert.deepEqual(await enc.encodeBatch([]), []);
});

test('pooling override: cls gives a different unit vector', async () => {
  const cls = await loadTestEncoder({ pooling: 'cls', maxTokens: 32 });
  try {
    assert.equal(cls.pooling, 'cls');
    assert.equal(cls.maxTokens, 32);
    const v = await cls.encode('hello world');
    assert.ok(Math.abs(cosine(v, v) - 1) < 1e-5);
    assert.ok(cosine(v, await enc.encode('hello world')) < 0.999);
  } finally {
    await cls.close();
  }
});
