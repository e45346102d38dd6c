import type { ItemListing } from '../codec/index.js';

const PRODUCTS = ['trail shoe', 'coffee grinder', 'wool scarf', 'desk lamp', 'yoga mat'];

/** The i-th synthetic listing a benchmark produces: `<prefix>-i`, a product title, listed now. */
export function benchListing(prefix: string, i: number): ItemListing {
  return {
    item_id: `${prefix}-${i}`,
    title: `${PRODUCTS[i % PRODUCTS.length]} model ${i}`,
    category: 'Bench',
    brand: null,
    price: null,
    keywords: null,
    attributes: null,
    listed_at: Date.now(),
  };
}
