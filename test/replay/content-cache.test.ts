import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { ItemListing } from '../../src/codec/index.js';
import { decodeVector } from '../../src/codec/vector.js';
import { loadConfig } from '../../src/config/load.js';
import { EncoderBatcher, batcherOptionsFrom, encodeListings, encoderOptionsFrom, loadContentEncoder } from '../../src/encoder/index.js';
import { cachedContent } from '../../src/replay/content-cache.js';
import { ensureDefaultModel } from '../encoder/model-helper.js';

const dataDir = mkdtempSync(join(tmpdir(), 'content-cache-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

// 40 listings: two batches of the default 32, so the batches' make-up is part of what is compared.
const listings: ItemListing[] = Array.from({ length: 40 }, (_, i) => ({
  item_id: `i${i}`,
  title: `Item number ${i}, ${['a drama', 'a comedy', 'a thriller', 'a documentary'][i % 4]}`,
  category: i % 3 === 0 ? 'Film' : null,
  brand: null,
  price: null,
  keywords: i % 2 === 0 ? ['kw', `k${i}`] : null,
  attributes: null,
  listed_at: 1_000 + i,
}));

test('the content cache holds the very vectors the pipeline encodes (the in-process replay reads them), keyed by the batch size too', { timeout: 120_000 }, async () => {
  await ensureDefaultModel();
  const cfg = loadConfig({ ...process.env, LEARN_DATA_DIR: dataDir });
  const encoder = await loadContentEncoder(encoderOptionsFrom(cfg));
  const batcher = new EncoderBatcher(encoder, batcherOptionsFrom(cfg));
  let direct: Map<string, Float32Array>;
  try {
    const { contents } = await encodeListings(batcher, encoder.modelId, listings, cfg.itemTextMaxChars);
    direct = new Map(contents.map((c) => [c.item_id, decodeVector(c.vector)]));
  } finally {
    await batcher.close();
    await encoder.close();
  }
  const first = await cachedContent(cfg, listings);
  const again = await cachedContent(cfg, listings);
  assert.equal(readdirSync(join(dataDir, 'content-cache')).length, 1);
  for (const li of listings) {
    assert.deepEqual(first.vectors.get(li.item_id), direct.get(li.item_id), `${li.item_id}: encoded as the pipeline does`);
    assert.deepEqual(again.vectors.get(li.item_id), direct.get(li.item_id), `${li.item_id}: read back bit for bit`);
  }
  // The int8 model quantises per batch: other batches are other vectors, so another cache file.
  await cachedContent({ ...cfg, encoderBatch: 8 }, listings);
  assert.equal(readdirSync(join(dataDir, 'content-cache')).length, 2);
});

// Review: a cache under 4 KiB (two 384-d vectors) decoded into a Buffer inside Node's shared pool, and the whole pool
// was read as the vectors, so a second run of a tiny data set got garbage.
test('a cache small enough for the shared Buffer pool reads back bit for bit', { timeout: 120_000 }, async () => {
  await ensureDefaultModel();
  const cfg = loadConfig({ ...process.env, LEARN_DATA_DIR: mkdtempSync(join(dataDir, 'small-')) });
  const two = listings.slice(0, 2);
  const first = await cachedContent(cfg, two);
  const again = await cachedContent(cfg, two);
  for (const li of two) assert.deepEqual(again.vectors.get(li.item_id), first.vectors.get(li.item_id), li.item_id);
});
