// Hand-written TypeScript shapes of the CURRENT (newest) version of each record in schemas/.
// test/codec/records.test.ts checks field names, order, kinds and nullability against the .avsc
// files, so these cannot drift from the schemas.
// Optional Avro fields (["null", T] with default null) are `T | null`, never undefined, because
// that is what a decoder returns.

/** An item as listed; the text the frozen LM encodes. Matches schemas/ItemListing.v1.avsc. */
export interface ItemListing {
  item_id: string;
  title: string;
  category: string | null;
  brand: string | null;
  /** As the source states it, currency included. */
  price: string | null;
  keywords: string[] | null;
  attributes: string[] | null;
  /** Epoch milliseconds. */
  listed_at: number;
}

/** One user action. Matches schemas/UserEvent.v2.avsc. */
export interface UserEvent {
  event_id: string;
  user_id: string;
  item_id: string;
  /** click | purchase | rating | ... (an open set on the wire; the trainer dead-letters types outside LEARN_EVENT_TYPES as unknown-event-type). */
  type: string;
  /** Epoch milliseconds, event time. */
  ts: number;
  weight: number | null;
}

/** A frozen-LM content vector. Matches schemas/ItemContent.v1.avsc. */
export interface ItemContent {
  item_id: string;
  model_id: string;
  /** Lower-case hex SHA-256 of the encoded text. */
  text_hash: string;
  dim: number;
  /** dim float32 values, little-endian. */
  vector: Buffer;
  /** Epoch milliseconds. */
  encoded_at: number;
}

export interface RecordTypes {
  ItemListing: ItemListing;
  UserEvent: UserEvent;
  ItemContent: ItemContent;
}

export type RecordName = keyof RecordTypes;

export const RECORD_NAMES: readonly RecordName[] = ['ItemListing', 'UserEvent', 'ItemContent'];

