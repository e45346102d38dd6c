import type { ItemContent } from '../codec/records.js';
import { encodeVector } from '../codec/vector.js';

/** The ItemContent record for one encoded item: what the worker publishes to learn.item-content. */
export function toItemContent(itemId: string, textHash: string, modelId: string, vector: Float32Array, encodedAt = Date.now()): ItemContent {
  return { item_id: itemId, model_id: modelId, text_hash: textHash, dim: vector.length, vector: encodeVector(vector), encoded_at: encodedAt };
}

