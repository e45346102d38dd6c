// Frozen content vectors of a data set's listings, cached on disk: an offline protocol re-encodes the same texts with
// the same model on every run (minutes on a shared CPU). The key is the model, the text cap, the encoder's batch size
// (the int8 model quantises per batch, so the batches shape the vectors) and every item's text.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ItemListing } from '../codec/index.js';
import { decodeVector, encodeVector } from '../codec/vector.js';
import type { Config } from '../config/load.js';
import { dataDirFrom } from '../data/dataset.js';
import { EncoderBatcher, batcherOptionsFrom, encoderOptionsFrom, loadContentEncoder } from '../encoder/index.js';
import { itemText } from '../encoder/item-text.js';
import { writeJsonAtomic } from '../ops/atomic-json.js';

interface CacheFile {
  modelId: string;
  dim: number;
  ids: string[];
  /** The vectors, row-major float32, base64. */
  data: string;
}

/** Each listing with usable text -> its content vector (listings without text are absent), and the model's id. */
export async function cachedContent(cfg: Config, listings: readonly ItemListing[]): Promise<{ modelId: string; vectors: Map<string, Float32Array> }> {
  const texts = listings.flatMap((li) => {
    try {
      return [{ id: li.item_id, text: itemText(li, cfg.itemTextMaxChars) }];
    } catch {
      return [];
    }
  });
  const encoder = await loadContentEncoder(encoderOptionsFrom(cfg));
  const hash = createHash('sha256').update(`${encoder.modelId}\n${cfg.itemTextMaxChars}\nbatch ${cfg.encoderBatch}\n`);
  for (const t of texts) hash.update(`${t.id}\t${t.text.textHash}\n`);
  const path = join(dataDirFrom(cfg), 'content-cache', `${hash.digest('hex').slice(0, 32)}.json`);
  try {
    if (existsSync(path)) {
      const f = JSON.parse(readFileSync(path, 'utf8')) as CacheFile;
      // The one vector codec: a small decoded Buffer sits inside Node's shared pool at an offset, which it honours.
      const flat = decodeVector(Buffer.from(f.data, 'base64'));
      return { modelId: f.modelId, vectors: new Map(f.ids.map((id, i) => [id, flat.slice(i * f.dim, (i + 1) * f.dim)])) };
    }
    const batcher = new EncoderBatcher(encoder, batcherOptionsFrom(cfg));
    let rows: Float32Array[];
    try {
      rows = await Promise.all(texts.map((t) => batcher.submit(t.text.text)));
    } finally {
      await batcher.close();
    }
    const dim = rows[0]?.length ?? 0;
    const flat = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => flat.set(r, i * dim));
    mkdirSync(join(path, '..'), { recursive: true });
    const file: CacheFile = { modelId: encoder.modelId, dim, ids: texts.map((t) => t.id), data: encodeVector(flat).toString('base64') };
    // Written aside and renamed: a run killed mid-write, or two seeds writing at once, never leave half a file.
    await writeJsonAtomic(path, file);
    return { modelId: encoder.modelId, vectors: new Map(texts.map((t, i) => [t.id, rows[i] as Float32Array])) };
  } finally {
    await encoder.close();
  }
}
