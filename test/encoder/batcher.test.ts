import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BatcherClosedError, DynamicBatcher } from '../../src/encoder/batcher.js';
import { EncoderBatcher } from '../../src/encoder/encoder-batcher.js';
import type { ItemEncoder } from '../../src/encoder/item-encoder.js';
import { cosine, FP32_MODEL, loadTestEncoder } from './model-helper.js';

let enc: ItemEncoder;

before(async () => {
  enc = await loadTestEncoder();
});
after(async () => {
  await enc.close();
});

/** A batcher over strings whose "model" upper-cases and records each batch it was given. */
function recording(maxBatch: number, maxWaitMs: number) {
  const batches: string[][] = [];
  const b = new DynamicBatcher<string, string>({
    maxBatch,
    maxWaitMs,
    sizeOf: (s) => s.length,
    runBatch: async (items) => {
      batches.push(items);
      return items.map((s) => s.toUpperCase());
    },
  });
  return { b, batches };
}

test('a burst is sorted by size and cut into batches of similar length; results reach their callers', async () => {
  const { b, batches } = recording(2, 50);
  const inputs = ['ccc', 'a', 'dddd', 'bb'];
  const results = await Promise.all(inputs.map((s) => b.submit(s)));
  assert.deepEqual(results, ['CCC', 'A', 'DDDD', 'BB']);
  assert.deepEqual(batches, [['a', 'bb'], ['ccc', 'dddd']]);
});

test('a lone item goes after maxWaitMs without waiting for a full batch', async () => {
  const { b, batches } = recording(32, 10);
  const t0 = Date.now();
  assert.equal(await b.submit('x'), 'X');
  const waited = Date.now() - t0;
  assert.ok(waited >= 8 && waited < 500, `waited ${waited} ms`);
  assert.deepEqual(batches, [['x']]);
});

test('items arriving while a batch runs gather into the next one', async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const batches: number[][] = [];
  const b = new DynamicBatcher<number, number>({
    maxBatch: 8,
    maxWaitMs: 0,
    runBatch: async (items) => {
      batches.push(items);
      if (batches.length === 1) await gate;
      return items.map((n) => n * 10);
    },
  });
  const first = b.submit(1);
  await new Promise((r) => setTimeout(r, 5));
  const rest = [2, 3, 4].map((n) => b.submit(n));
  assert.equal(b.pending, 3);
  release();
  assert.deepEqual(await Promise.all([first, ...rest]), [10, 20, 30, 40]);
  assert.deepEqual(batches, [[1], [2, 3, 4]]);
});

test('a failing batch rejects each of its callers; close flushes, then refuses', async () => {
  const b = new DynamicBatcher<number, number>({
    maxBatch: 4,
    maxWaitMs: 1000,
    runBatch: async (items) => {
      if (items.includes(13)) throw new Error('unlucky batch');
      return items;
    },
  });
  const bad = [b.submit(13), b.submit(1)];
  for (const p of bad) await assert.rejects(p, /unlucky batch/);
  const pending = b.submit(7); // would wait 1 s; close must not
  const t0 = Date.now();
  await b.close();
  assert.equal(await pending, 7);
  assert.ok(Date.now() - t0 < 500);
  await assert.rejects(b.submit(8), BatcherClosedError);
});

test('EncoderBatcher: each caller gets its own text\'s vector (fp32: exactly the unbatched one)', async () => {
  const fp32 = await loadTestEncoder({ model: FP32_MODEL });
  const batcher = new EncoderBatcher(fp32, { maxBatch: 4, maxWaitMs: 5 });
  const texts = [
    'a long description of a waterproof hiking boot with a vibram sole and leather upper',
    'tea',
    'noise cancelling headphones',
    'a',
    'stainless steel water bottle, 750 ml, keeps drinks cold for a day',
    'desk lamp',
    'yoga mat',
  ];
  try {
    const vectors = await Promise.all(texts.map((t) => batcher.submit(t)));
    await batcher.close();
    for (let i = 0; i < texts.length; i++) {
      const single = await fp32.encode(texts[i]!);
      assert.ok(cosine(single, vectors[i]!) > 0.99999, `row ${i} "${texts[i]}"`);
    }
    await assert.rejects(batcher.submit('late'), BatcherClosedError);
  } finally {
    await fp32.close();
  }
});

test('EncoderBatcher on the int8 default: order preserved (each vector is nearest its own text)', async () => {
  const batcher = new EncoderBatcher(enc, { maxBatch: 3, maxWaitMs: 5 });
  const texts = ['red running shoes', 'espresso machine', 'tax law textbook', 'puppy food', 'wireless headphones', 'garden hose'];
  const vectors = await Promise.all(texts.map((t) => batcher.submit(t)));
  await batcher.close();
  const singles = await Promise.all(texts.map((t) => enc.encode(t)));
  vectors.forEach((v, i) => {
    const scores = singles.map((s) => cosine(v, s));
    assert.equal(scores.indexOf(Math.max(...scores)), i, `row ${i} "${texts[i]}"`);
    assert.ok(scores[i]! > 0.97);
  });
});
