// Representative values of each record, shared by the codec and fuzz suites.
import type { ItemContent, ItemListing, UserEvent } from '../../src/codec/records.js';

export const LISTING: ItemListing = {
  item_id: 'i-42',
  title: 'Toy Story (1995)',
  category: 'Animation|Children|Comedy',
  brand: null,
  price: '$12.99',
  keywords: ['toys', 'friendship', 'café'],
  attributes: [],
  listed_at: 1_700_000_000_123,
};

export const EVENT: UserEvent = {
  event_id: 'e-1',
  user_id: 'u-7',
  item_id: 'i-42',
  type: 'rating',
  ts: 1_700_000_001_000,
  weight: 4.5,
};

const vector = new Float32Array([0.25, -0.5, 0.125, 1]);
export const CONTENT: ItemContent = {
  item_id: 'i-42',
  model_id: 'all-MiniLM-L6-v2/mean',
  text_hash: 'a'.repeat(64),
  dim: vector.length,
  vector: Buffer.from(vector.buffer),
  encoded_at: 1_700_000_002_000,
};
