import type { ListedItems } from './waiting-events.js';

/**
 * Items whose listing the trainer has seen on the listings topic and whose content vector has not arrived yet: the
 * encoder is working on them, so events waiting for them must not expire however far it lags (issue 11 §2.8).
 * Bounded: past `max` the item listed longest ago is forgotten (its events then wait under the time bound again),
 * which also clears listings the encoder rejected (dead-lettered, never to get content).
 */
export class PendingListings implements ListedItems {
  /** Insertion-ordered: the first is the listing seen longest ago. */
  private readonly items = new Set<string>();

  constructor(
    readonly max: number,
    private readonly content: { has(itemId: string): boolean },
  ) {}

  get size(): number {
    return this.items.size;
  }

  has(itemId: string): boolean {
    return this.items.has(itemId);
  }

  /** A listing was seen (a new or changed item); an item that already has content is not waiting for the encoder. */
  listed(itemId: string): void {
    if (this.content.has(itemId)) return;
    this.items.delete(itemId);
    this.items.add(itemId);
    if (this.items.size > this.max) this.items.delete(this.items.values().next().value as string);
  }

  /** Its content arrived (or it was delisted): nothing more is coming from the encoder. */
  settled(itemId: string): void {
    this.items.delete(itemId);
  }
}
