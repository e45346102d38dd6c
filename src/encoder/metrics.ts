import { Counter, Histogram } from 'prom-client';
import { registry } from '../ops/metrics.js';

export const listingsEncoded = new Counter({
  name: 'learn_listings_encoded_total',
  help: 'Listings encoded by the frozen LM and written to the item-content topic',
  registers: [registry],
});

export const listingsSkipped = new Counter({
  name: 'learn_listings_skipped_total',
  help: 'Listings not encoded again: same item, text and model as already in the item-content topic',
  registers: [registry],
});

export const encodeSeconds = new Histogram({
  name: 'learn_encode_chunk_seconds',
  help: 'Time to encode one chunk of listings and have its ItemContent acknowledged',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});
