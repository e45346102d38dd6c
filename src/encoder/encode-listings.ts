import type { ItemContent, ItemListing } from '../codec/index.js';
import type { EncoderBatcher } from './encoder-batcher.js';
import { toItemContent } from './item-content.js';
import { itemText } from './item-text.js';

/**
 * Encodes listings in-process, in their order, as the encoder worker would (same item text, same batcher): the
 * ItemContent of every listing with usable text. Listings without text get no content (the worker dead-letters them).
 */
export async function encodeListings(
  batcher: EncoderBatcher,
  modelId: string,
  listings: readonly ItemListing[],
  maxChars: number,
): Promise<{ contents: ItemContent[]; withoutText: number }> {
  const texts = listings.flatMap((li) => {
    try {
      return [{ li, text: itemText(li, maxChars) }];
    } catch {
      return [];
    }
  });
  const vectors = await Promise.all(texts.map((t) => batcher.submit(t.text.text)));
  return {
    contents: texts.map((t, i) => toItemContent(t.li.item_id, t.text.textHash, modelId, vectors[i]!)),
    withoutText: listings.length - texts.length,
  };
}
