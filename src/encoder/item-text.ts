import { createHash } from 'node:crypto';
import type { ItemListing } from '../codec/records.js';

/** The listing fields the encoder reads (the Avro ItemListing from src/codec, or any object with them). */
export type ItemListingText = Pick<ItemListing, 'item_id' | 'title' | 'category' | 'brand' | 'price' | 'keywords' | 'attributes'>;

export const DEFAULT_ITEM_TEXT_MAX_CHARS = 2000;

/** A listing the encoder cannot turn into text; `reason` is short kebab-case, for the DLQ header. */
export class ItemTextError extends Error {
  constructor(
    readonly reason: 'empty-text',
    readonly itemId: string,
    message: string,
  ) {
    super(message);
    this.name = 'ItemTextError';
  }
}

export interface ItemText {
  text: string;
  /** sha256 hex of `text`: with item_id and model id, the encoder's idempotency key. */
  textHash: string;
}

/**
 * The LEARN paper's item template, with each sentence dropped when its field is missing or blank, cut to
 * maxChars. A listing with nothing descriptive (price alone says nothing about the item) is rejected.
 */
export function itemText(listing: ItemListingText, maxChars = DEFAULT_ITEM_TEXT_MAX_CHARS): ItemText {
  const title = clean(listing.title);
  const category = clean(listing.category);
  const brand = clean(listing.brand);
  const price = clean(listing.price);
  const keywords = joinList(listing.keywords);
  const attributes = joinList(listing.attributes);
  if (!title && !category && !brand && !keywords && !attributes) {
    throw new ItemTextError('empty-text', listing.item_id, `item ${listing.item_id}: no title, category, brand, keywords or attributes`);
  }
  const parts = ['The item information is given as follows.'];
  if (title) parts.push(`Item title is "${title}".`);
  if (category && brand) parts.push(`This item belongs to "${category}" and brand is "${brand}".`);
  else if (category) parts.push(`This item belongs to "${category}".`);
  else if (brand) parts.push(`The brand is "${brand}".`);
  if (price) parts.push(`The price is "${price}".`);
  if (keywords) parts.push(`The key words of items are "${keywords}".`);
  if (attributes) parts.push(`The item supports "${attributes}".`);
  const text = capChars(parts.join(' '), maxChars);
  return { text, textHash: textHash(text) };
}

export function textHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The encoder's idempotency key: the same item text under the same model is encoded once. */
export function encodeKey(itemId: string, hash: string, modelId: string): string {
  return `${itemId}|${hash}|${modelId}`;
}

function clean(s: string | null | undefined): string {
  return (s ?? '').replace(/\s+/g, ' ').trim();
}

function joinList(v: readonly string[] | null | undefined): string {
  return (v ?? []).map(clean).filter((s) => s.length > 0).join(', ');
}

/** Cuts at maxChars without splitting a surrogate pair. */
function capChars(s: string, maxChars: number): string {
  if (s.length <= maxChars) return s;
  let end = maxChars;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end);
}
