// Keeps the hand-written interfaces in src/codec/records.ts in step with schemas/.
// The KIND maps below are type-checked against the interfaces (every field, its kind and
// nullability), and the test checks them against the current .avsc, field by field, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import avsc, { type Type } from 'avsc';
import type { ItemContent, ItemListing, RecordName, UserEvent } from '../../src/codec/records.js';
import { SchemaRegistry } from '../../src/codec/registry.js';

type Kind<T> = [T] extends [string]
  ? 'string'
  : [T] extends [number]
    ? 'number'
    : [T] extends [Buffer]
      ? 'bytes'
      : [T] extends [string[]]
        ? 'string[]'
        : never;
type FieldKind<T> = null extends T ? `${Kind<NonNullable<T>>}|null` : Kind<T>;
type KindMap<R> = { [K in keyof R]-?: FieldKind<R[K]> };

const ITEM_LISTING: KindMap<ItemListing> = {
  item_id: 'string',
  title: 'string',
  category: 'string|null',
  brand: 'string|null',
  price: 'string|null',
  keywords: 'string[]|null',
  attributes: 'string[]|null',
  listed_at: 'number',
};
const USER_EVENT: KindMap<UserEvent> = {
  event_id: 'string',
  user_id: 'string',
  item_id: 'string',
  type: 'string',
  ts: 'number',
  weight: 'number|null',
};
const ITEM_CONTENT: KindMap<ItemContent> = {
  item_id: 'string',
  model_id: 'string',
  text_hash: 'string',
  dim: 'number',
  vector: 'bytes',
  encoded_at: 'number',
};
const KINDS: Record<RecordName, Record<string, string>> = {
  ItemListing: ITEM_LISTING,
  UserEvent: USER_EVENT,
  ItemContent: ITEM_CONTENT,
};

function avroKind(type: Type): string {
  const T = avsc.types;
  if (type instanceof T.UnwrappedUnionType) {
    const [first, second, ...rest] = type.types;
    assert.ok(first instanceof T.NullType && second && rest.length === 0, 'optional fields are ["null", T]');
    return `${avroKind(second)}|null`;
  }
  if (type instanceof T.StringType) return 'string';
  if (type instanceof T.IntType || type instanceof T.LongType || type instanceof T.DoubleType) return 'number';
  if (type instanceof T.BytesType) return 'bytes';
  if (type instanceof T.ArrayType && type.itemsType instanceof T.StringType) return 'string[]';
  return `unmapped ${type.typeName}`;
}

test('TypeScript record interfaces match the current schemas field by field', () => {
  const reg = SchemaRegistry.loadDir();
  for (const [record, kinds] of Object.entries(KINDS)) {
    const type = reg.current(record).type;
    assert.ok(type instanceof avsc.types.RecordType);
    assert.deepEqual(
      type.fields.map((f) => [f.name, avroKind(f.type)]),
      Object.entries(kinds),
      `${record} (${reg.current(record).file})`,
    );
  }
});
