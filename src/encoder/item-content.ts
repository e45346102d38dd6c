import type { ItemContent } from '../codec/records.js';

/** The ItemContent record for one encoded item: what the worker publishes to learn.item-content. */
export function toItemContent(itemId: string, textHash: string, modelId: string, vector: Float32Array, encodedAt = Date.now()): ItemContent {
  return { item_id: itemId, model_id: modelId, text_hash: textHash, dim: vector.length, vector: vectorToBytes(vector), encoded_at: encodedAt };
}

/** float32 little-endian bytes, whatever the host's byte order. */
export function vectorToBytes(v: Float32Array): Buffer {
  const buf = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i]!, i * 4);
  return buf;
}

export function vectorFromBytes(buf: Buffer): Float32Array {
  if (buf.length % 4 !== 0) throw new Error(`vector bytes: length ${buf.length} is not a multiple of 4`);
  const v = new Float32Array(buf.length / 4);
  for (let i = 0; i < v.length; i++) v[i] = buf.readFloatLE(i * 4);
  return v;
}
