import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { encodeKey, itemText, ItemTextError, textHash, type ItemListingText } from '../../src/encoder/item-text.js';

const full: ItemListingText = {
  item_id: 'i1',
  title: 'Trail Runner 2',
  category: 'Shoes',
  brand: 'Acme',
  price: '59.90 EUR',
  keywords: ['running', 'trail'],
  attributes: ['waterproof', 'wide fit'],
};

test('a full listing fills the paper template', () => {
  assert.equal(
    itemText(full).text,
    'The item information is given as follows. Item title is "Trail Runner 2". This item belongs to "Shoes" and brand is "Acme". ' +
      'The price is "59.90 EUR". The key words of items are "running, trail". The item supports "waterproof, wide fit".',
  );
});

test('missing and blank fields drop their sentences', () => {
  const t = itemText({ item_id: 'i2', title: '  Lamp ', category: null, brand: 'Lumo', price: null, keywords: [' ', ''], attributes: null }).text;
  assert.equal(t, 'The item information is given as follows. Item title is "Lamp". The brand is "Lumo".');
  const c = itemText({ item_id: 'i3', title: '', category: 'Books', brand: '', price: '', keywords: null, attributes: null }).text;
  assert.equal(c, 'The item information is given as follows. This item belongs to "Books".');
});

test('the text is capped at maxChars', () => {
  const long = { ...full, title: 'x'.repeat(5000) };
  assert.equal(itemText(long).text.length, 2000);
  assert.equal(itemText(long, 100).text.length, 100);
  // A surrogate pair is never cut in half.
  const emoji = itemText({ ...full, title: '😀'.repeat(100) }, 62).text;
  assert.ok(!/[\uD800-\uDBFF]$/.test(emoji));
});

test('a listing with nothing descriptive is a typed error with a DLQ reason', () => {
  const empty: ItemListingText = { item_id: 'i4', title: '  ', category: null, brand: null, price: '10 USD', keywords: [], attributes: null };
  assert.throws(
    () => itemText(empty),
    (err: unknown) => err instanceof ItemTextError && err.reason === 'empty-text' && err.itemId === 'i4',
  );
});

test('text hash is the sha256 hex of the final text; the key binds item, text and model', () => {
  const { text, textHash: h } = itemText(full);
  assert.equal(h, createHash('sha256').update(text).digest('hex'));
  assert.equal(textHash(text), h);
  assert.notEqual(itemText({ ...full, price: '49.90 EUR' }).textHash, h);
  assert.equal(encodeKey('i1', h, 'm@1'), `i1|${h}|m@1`);
});
