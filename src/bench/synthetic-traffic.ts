import type { Message } from 'kafkajs';
import { defaultCodec, type UserEvent } from '../codec/index.js';
import { benchListing } from './listings.js';

/** A listing per this many events, so the encoder works too. */
export const LISTING_EVERY = 100;
/** Listings made before the first event when the catalogue grows. */
const FIRST_GROWING_LISTINGS = 50;

/** What the generator produces besides the rate. */
export interface TrafficShape {
  /** Prefix of item ids and listing keys, and of event ids (with `run`). */
  label: string;
  run: string;
  /** Users the events cycle over (round robin). */
  users: number;
  /**
   * Item ids the listings cycle over: all N are listed before the first event, and every later listing re-lists an
   * existing id, so the catalogue stays at N. Undefined: every listing is a new item (the catalogue grows by one
   * listing per LISTING_EVERY events, up to LEARN_MAX_ITEMS).
   */
  catalogue?: number;
}

/**
 * Event number -> a well-mixed 32-bit value (a multiplicative hash with a final xor-shift). A plain `no * prime`
 * would step each user's items by users x prime, which gives a user only catalogue / gcd(...) distinct items (2 at
 * 500 users over 1,000 items).
 */
function spread(no: number): number {
  const h = Math.imul(no ^ (no >>> 16), 0x45d9f3b);
  return (Math.imul(h ^ (h >>> 16), 0x45d9f3b) ^ (h >>> 16)) >>> 0;
}

/**
 * The synthetic traffic of the load and soak benches, as Kafka messages: UserEvents round robin over the users,
 * on items spread over the catalogue listed so far, and a listing per LISTING_EVERY events. Pure: the caller sends.
 */
export class SyntheticTraffic {
  private readonly codec = defaultCodec();
  private eventNo = 0;
  /** Listings made so far; listing k lists id k mod catalogue. */
  private listings: number;
  private readonly catalogue: number;

  constructor(private readonly shape: TrafficShape) {
    const catalogue = shape.catalogue ?? Number.MAX_SAFE_INTEGER;
    if (!(Number.isSafeInteger(shape.users) && shape.users > 0)) throw new Error(`generator users must be a positive integer, got ${shape.users}`);
    if (!(Number.isSafeInteger(catalogue) && catalogue > 0)) throw new Error(`generator catalogue must be a positive integer, got ${catalogue}`);
    this.catalogue = catalogue;
    this.listings = 0;
  }

  /** The listings made before the first event: the whole fixed catalogue, or the first few of a growing one. */
  initialListings(): Message[] {
    const n = this.shape.catalogue ?? FIRST_GROWING_LISTINGS;
    return Array.from({ length: n }, () => this.listing());
  }

  /** Item ids listed so far (the catalogue's size once it is full). */
  listed(): number {
    return Math.min(this.listings, this.catalogue);
  }

  /** The next `n` events, and the listings due by then (one per LISTING_EVERY events). */
  next(n: number): { events: Message[]; listings: Message[] } {
    const events: Message[] = [];
    const listed = Math.max(1, this.listed());
    for (let j = 0; j < n; j++) {
      const no = this.eventNo++;
      const e: UserEvent = {
        event_id: `${this.shape.run}-${no}`,
        user_id: `u${no % this.shape.users}`,
        item_id: `${this.shape.label}-${spread(no) % listed}`,
        type: 'click',
        ts: Date.now(),
        weight: null,
      };
      events.push({ key: e.user_id, value: this.codec.encode('UserEvent', e) });
    }
    const listings: Message[] = [];
    const first = this.shape.catalogue ?? FIRST_GROWING_LISTINGS;
    while (this.eventNo / LISTING_EVERY > this.listings - first) listings.push(this.listing());
    return { events, listings };
  }

  private listing(): Message {
    const i = this.listings++ % this.catalogue;
    return { key: `${this.shape.label}-${i}`, value: this.codec.encode('ItemListing', benchListing(this.shape.label, i)) };
  }
}
