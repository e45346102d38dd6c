import { ItemIds, unpackStrings } from './item-ids.js';

/** One user's recent items (oldest first) and how many events they have had in all. */
export interface UserHistory {
  items: string[];
  events: number;
  lastTs: number;
}

/** Fields of both typed-array formats. */
interface HistoriesArrays {
  maxLength: number;
  maxUsers: number;
  evicted: number;
  lengths: Uint16Array;
  events: Float64Array;
  lastTs: Float64Array;
  blockSlots: number;
  itemBlocks: Record<string, Int32Array>;
  itemIdBytes: Uint8Array;
  itemIdLengths: Uint32Array;
}

/**
 * The histories as typed arrays (a checkpoint stores them as raw bytes, no JSON per user). Slot s holds
 * `lengths[s]` item numbers in block `itemBlocks[floor(s / blockSlots)]` from `(s % blockSlots) * maxLength`; its
 * user's id is the UTF-8 bytes `userIdArena[userIdStarts[s] ..+ userIdByteLengths[s]]`, and `stamps[s]` orders the
 * users by recency (larger: more recent; 0: a free slot). All are the live shared arrays: no per-user work to take.
 */
export interface HistoriesSnapshot extends HistoriesArrays {
  format: 3;
  userIdArena: Uint8Array;
  userIdStarts: Uint32Array;
  userIdByteLengths: Uint32Array;
  stamps: Float64Array;
}

/** The second format (read only): user ids packed in recency order, `order` listing their slots. */
export interface HistoriesSnapshotV2 extends HistoriesArrays {
  format: 2;
  userIdBytes: Uint8Array;
  userIdLengths: Uint32Array;
  order: Int32Array;
}

/** The first format (checkpoints before compact histories): one JSON entry per user, item ids as strings. */
export interface HistoriesSnapshotV1 {
  maxLength: number;
  maxUsers: number;
  /** In recency order, least recently active first. */
  users: Array<[string, UserHistory]>;
}

/** Slots per block of the item table: it grows a block at a time, never copying what it holds. */
const BLOCK_SLOTS = 16_384;
const MAX_LENGTH = 0xffff;

/**
 * Per-user histories, bounded twice: each keeps its last `maxLength` items, and at most `maxUsers` users are
 * kept, evicting the least recently active (a Map keeps insertion order; a touched user is re-inserted at the end).
 * Compact: a user is a Map entry to a slot number; items are interned to integers in fixed-size slots of typed
 * arrays (4 bytes an item), so a million users of 50 items take about 300 MB, not 2.4 GB of objects and strings.
 */
export class UserHistories {
  /** userId -> slot, least recently active first. */
  private readonly slots = new Map<string, number>();
  /** Each slot's user id as UTF-8 in a shared arena (a reused slot overwrites its bytes when the new id fits). */
  private idArena = new Uint8Array(new SharedArrayBuffer(0));
  /** The arena as a Buffer, for writing strings into it. */
  private idArenaText = Buffer.from(this.idArena.buffer);
  private idArenaUsed = 0;
  /** Arena bytes no slot uses any more (ids moved out of a slot too small for them). */
  private idArenaGarbage = 0;
  private idStarts = new Uint32Array(new SharedArrayBuffer(0));
  private idByteLengths = new Uint32Array(new SharedArrayBuffer(0));
  private idCapacities = new Uint32Array(new SharedArrayBuffer(0));
  /** Recency per slot: the clock at the user's last append; 0 for a free slot. */
  private stamps = new Float64Array(new SharedArrayBuffer(0));
  private clock = 0;
  private readonly itemIds: ItemIds;
  private blocks: Int32Array[] = [];
  private lengths = new Uint16Array(new SharedArrayBuffer(0));
  private events = new Float64Array(new SharedArrayBuffer(0));
  private lastTs = new Float64Array(new SharedArrayBuffer(0));
  /** Set while a checkpoint reads the live arrays (see `pin`): a change then is a bug, and throws. */
  private pinned = false;
  /** Slots handed out so far; freed ones are reused first. */
  private slotCount = 0;
  private readonly free: number[] = [];
  evicted = 0;

  constructor(
    readonly maxLength: number,
    readonly maxUsers: number,
    itemIds = new ItemIds(),
  ) {
    if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > MAX_LENGTH) throw new Error(`history length ${maxLength} is not in 1..${MAX_LENGTH}`);
    this.itemIds = itemIds;
  }

  get size(): number {
    return this.slots.size;
  }

  /** Distinct item ids the histories hold. */
  get internedItems(): number {
    return this.itemIds.size;
  }

  /** Numbers the item id table has handed out (freed ones included): its memory. */
  get itemTableSlots(): number {
    return this.itemIds.capacity;
  }

  get(userId: string): UserHistory | undefined {
    const slot = this.slots.get(userId);
    if (slot === undefined) return undefined;
    const { block, at } = this.place(slot);
    const items: string[] = [];
    for (let i = 0; i < this.lengths[slot]!; i++) items.push(this.itemIds.idOf(block[at + i]!));
    return { items, events: this.events[slot]!, lastTs: this.lastTs[slot]! };
  }

  /** Appends a user's new items (in event order) and marks the user most recently active. */
  append(userId: string, items: readonly string[], lastTs: number): void {
    if (this.pinned) throw new Error('histories changed while a checkpoint was reading them');
    let slot = this.slots.get(userId);
    if (slot === undefined) {
      // Make room first, so the evicted user's slot is the one reused.
      this.evictPastMax(this.maxUsers - 1);
      slot = this.allocate();
      this.setUserId(slot, userId);
      this.lengths[slot] = 0;
      this.events[slot] = 0;
      this.lastTs[slot] = lastTs;
    } else {
      this.slots.delete(userId);
    }
    const L = this.maxLength;
    const { block, at } = this.place(slot);
    const kept = items.length >= L ? items.slice(items.length - L) : items;
    const len = this.lengths[slot]!;
    const drop = Math.max(0, len + kept.length - L);
    for (let i = 0; i < drop; i++) this.itemIds.release(block[at + i]!);
    if (drop > 0) block.copyWithin(at, at + drop, at + len);
    let end = at + len - drop;
    for (const id of kept) block[end++] = this.itemIds.acquire(id);
    this.lengths[slot] = end - at;
    this.events[slot] = this.events[slot]! + items.length;
    this.lastTs[slot] = Math.max(this.lastTs[slot]!, lastTs);
    this.stamps[slot] = ++this.clock;
    this.slots.set(userId, slot);
  }

  /** The most recently active users, newest first. */
  recent(limit: number): string[] {
    const ids = [...this.slots.keys()];
    return ids.slice(Math.max(0, ids.length - limit)).reverse();
  }

  /** Every user's history, least recently active first. */
  *entries(): Generator<[string, UserHistory]> {
    for (const id of this.slots.keys()) yield [id, this.get(id)!];
  }

  /** A copy of the state as typed arrays (memory copies, no per-item work). */
  snapshot(): HistoriesSnapshot {
    const live = this.view();
    const itemBlocks: Record<string, Int32Array> = {};
    for (const [k, b] of Object.entries(live.itemBlocks)) itemBlocks[k] = b.slice();
    return {
      ...live,
      userIdArena: live.userIdArena.slice(),
      userIdStarts: live.userIdStarts.slice(),
      userIdByteLengths: live.userIdByteLengths.slice(),
      stamps: live.stamps.slice(),
      lengths: live.lengths.slice(),
      events: live.events.slice(),
      lastTs: live.lastTs.slice(),
      itemBlocks,
    };
  }

  /**
   * The state as views of the live arrays, which are shared memory: a checkpoint thread reads them with no copy on
   * this thread (a copy of 200 MB at a million users blocked the loop for up to a second on a busy machine). Until
   * `unpin`, the histories must not change: an append throws rather than let the file mix two states.
   */
  pin(): HistoriesSnapshot {
    this.pinned = true;
    return this.view();
  }

  unpin(): void {
    this.pinned = false;
  }

  private view(): HistoriesSnapshot {
    const itemIds = this.itemIds.pack();
    const itemBlocks: Record<string, Int32Array> = {};
    this.blocks.forEach((b, k) => {
      const used = Math.min(BLOCK_SLOTS, this.slotCount - k * BLOCK_SLOTS);
      if (used > 0) itemBlocks[String(k)] = b.subarray(0, used * this.maxLength);
    });
    return {
      format: 3,
      maxLength: this.maxLength,
      maxUsers: this.maxUsers,
      evicted: this.evicted,
      userIdArena: this.idArena.subarray(0, this.idArenaUsed),
      userIdStarts: this.idStarts.subarray(0, this.slotCount),
      userIdByteLengths: this.idByteLengths.subarray(0, this.slotCount),
      stamps: this.stamps.subarray(0, this.slotCount),
      lengths: this.lengths.subarray(0, this.slotCount),
      events: this.events.subarray(0, this.slotCount),
      lastTs: this.lastTs.subarray(0, this.slotCount),
      blockSlots: BLOCK_SLOTS,
      itemBlocks,
      itemIdBytes: itemIds.bytes,
      itemIdLengths: itemIds.lengths,
    };
  }

  /**
   * Histories from a snapshot, under the settings now in force: a shorter LEARN_HISTORY_LEN keeps each user's newest
   * items, a smaller LEARN_MAX_USERS the most recently active users. The first format (JSON per user) still loads.
   */
  static restore(s: HistoriesSnapshot | HistoriesSnapshotV2 | HistoriesSnapshotV1, maxLength: number, maxUsers: number): UserHistories {
    if (!('format' in s)) return UserHistories.restoreV1(s, maxLength, maxUsers);
    const itemIds = ItemIds.unpack({ bytes: s.itemIdBytes, lengths: s.itemIdLengths });
    const { ids, order } = s.format === 2 ? UserHistories.usersV2(s) : UserHistories.users(s);
    const h = new UserHistories(maxLength, maxUsers, itemIds);
    const itemsOf = (slot: number): Int32Array => {
      const block = s.itemBlocks[String(Math.floor(slot / s.blockSlots))];
      const at = (slot % s.blockSlots) * s.maxLength;
      if (!block || at + s.maxLength > block.length) throw new Error(`histories: no items for slot ${slot}`);
      return block.subarray(at, at + s.lengths[slot]!);
    };
    if (s.maxLength === maxLength) {
      // Same slot size: slot numbers are kept, the items copied slot by slot.
      const slots = s.lengths.length;
      h.grow(slots);
      h.slotCount = slots;
      h.lengths.set(s.lengths);
      h.events.set(s.events);
      h.lastTs.set(s.lastTs);
      const used = new Uint8Array(slots);
      ids.forEach((id, i) => {
        const slot = order[i]!;
        const { block, at } = h.place(slot);
        const items = itemsOf(slot);
        block.set(items, at);
        for (const n of items) itemIds.hold(n);
        used[slot] = 1;
        h.setUserId(slot, id);
        h.stamps[slot] = ++h.clock;
        h.slots.set(id, slot);
      });
      for (let slot = slots - 1; slot >= 0; slot--) if (used[slot] === 0) h.free.push(slot);
      h.evictPastMax();
    } else {
      // Only the newest maxUsers users: appending more would evict the oldest, releasing item numbers that users not
      // yet restored still name (they would then read as '' or as a reused number's new id).
      const skipped = Math.max(0, ids.length - maxUsers);
      for (let i = skipped; i < ids.length; i++) {
        const slot = order[i]!;
        const items = Array.from(itemsOf(slot), (n) => itemIds.idOf(n));
        h.append(ids[i]!, items, s.lastTs[slot]!);
        const kept = h.slots.get(ids[i]!);
        if (kept !== undefined) h.events[kept] = s.events[slot]!;
      }
      h.evicted += skipped;
    }
    itemIds.freeUnheld();
    h.evicted += s.evicted;
    return h;
  }

  /** A snapshot's histories (any format), least recently active first: for reading a checkpoint from outside. */
  static entriesOf(s: HistoriesSnapshot | HistoriesSnapshotV2 | HistoriesSnapshotV1): Array<[string, UserHistory]> {
    return [...UserHistories.restore(s, s.maxLength, s.maxUsers).entries()];
  }

  /** A format-3 snapshot's users, least recently active first, and their slots. */
  private static users(s: HistoriesSnapshot): { ids: string[]; order: Int32Array } {
    const live: number[] = [];
    for (let slot = 0; slot < s.stamps.length; slot++) if (s.stamps[slot]! > 0) live.push(slot);
    live.sort((a, b) => s.stamps[a]! - s.stamps[b]!);
    const arena = Buffer.from(s.userIdArena.buffer, s.userIdArena.byteOffset, s.userIdArena.byteLength);
    const ids = live.map((slot) => {
      const start = s.userIdStarts[slot]!;
      const end = start + s.userIdByteLengths[slot]!;
      if (end > arena.length) throw new Error(`histories: user id of slot ${slot} past the arena`);
      return arena.toString('utf8', start, end);
    });
    return { ids, order: Int32Array.from(live) };
  }

  private static usersV2(s: HistoriesSnapshotV2): { ids: string[]; order: Int32Array } {
    const ids = unpackStrings({ bytes: s.userIdBytes, lengths: s.userIdLengths });
    if (ids.length !== s.order.length) throw new Error(`histories: ${ids.length} user ids for ${s.order.length} slots`);
    return { ids, order: s.order };
  }

  /** Writes a slot's user id into the arena: in place when it fits the slot's bytes, else at the arena's end. */
  private setUserId(slot: number, id: string): void {
    const bytes = Buffer.byteLength(id, 'utf8');
    if (bytes > this.idCapacities[slot]!) {
      this.idArenaGarbage += this.idCapacities[slot]!;
      if (this.idArenaGarbage > Math.max(1 << 20, this.idArenaUsed / 2)) this.compactIds();
      this.reserveIdBytes(bytes);
      this.idStarts[slot] = this.idArenaUsed;
      this.idCapacities[slot] = bytes;
      this.idArenaUsed += bytes;
    }
    this.idArenaText.write(id, this.idStarts[slot]!, bytes, 'utf8');
    this.idByteLengths[slot] = bytes;
  }

  /** Copies the live slots' ids into a fresh arena (rare: when half of it, and at least 1 MiB, is garbage). */
  private compactIds(): void {
    const old = this.idArena;
    this.idArena = new Uint8Array(new SharedArrayBuffer(Math.max(1024, this.idArenaUsed - this.idArenaGarbage)));
    this.idArenaText = Buffer.from(this.idArena.buffer);
    this.idArenaUsed = 0;
    for (let slot = 0; slot < this.slotCount; slot++) {
      const start = this.idStarts[slot]!;
      const cap = this.idCapacities[slot]!;
      if (this.stamps[slot] === 0) {
        this.idCapacities[slot] = 0;
        continue;
      }
      this.reserveIdBytes(cap);
      this.idArena.set(old.subarray(start, start + cap), this.idArenaUsed);
      this.idStarts[slot] = this.idArenaUsed;
      this.idArenaUsed += cap;
    }
    this.idArenaGarbage = 0;
  }

  private reserveIdBytes(bytes: number): void {
    if (this.idArenaUsed + bytes <= this.idArena.length) return;
    const grown = new Uint8Array(new SharedArrayBuffer(Math.max(1024, 2 * this.idArena.length, this.idArenaUsed + bytes)));
    grown.set(this.idArena.subarray(0, this.idArenaUsed));
    this.idArena = grown;
    this.idArenaText = Buffer.from(grown.buffer);
  }

  private static restoreV1(s: HistoriesSnapshotV1, maxLength: number, maxUsers: number): UserHistories {
    const h = new UserHistories(maxLength, maxUsers);
    for (const [id, u] of s.users) {
      h.append(id, u.items, u.lastTs);
      // append counted the kept items only; restore the true event count.
      const slot = h.slots.get(id);
      if (slot !== undefined) h.events[slot] = u.events;
    }
    return h;
  }

  /** Evicts the least recently active users until at most `keep` are left. */
  private evictPastMax(keep = this.maxUsers): void {
    while (this.slots.size > keep) {
      const oldest = this.slots.entries().next().value;
      if (oldest === undefined) break;
      this.slots.delete(oldest[0]);
      this.releaseItems(oldest[1]);
      this.stamps[oldest[1]] = 0;
      this.free.push(oldest[1]);
      this.evicted++;
    }
  }

  private releaseItems(slot: number): void {
    const { block, at } = this.place(slot);
    for (let i = 0; i < this.lengths[slot]!; i++) this.itemIds.release(block[at + i]!);
    this.lengths[slot] = 0;
  }

  private allocate(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    this.grow(this.slotCount + 1);
    return this.slotCount++;
  }

  /** Room for `slots` slots: item blocks added, the per-slot arrays doubled. */
  private grow(slots: number): void {
    while (this.blocks.length * BLOCK_SLOTS < slots) this.blocks.push(new Int32Array(new SharedArrayBuffer(BLOCK_SLOTS * this.maxLength * 4)));
    if (this.lengths.length >= slots) return;
    const size = Math.max(slots, this.lengths.length * 2, 1024);
    const grown = <T extends Uint16Array | Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.lengths = grown(this.lengths, (n) => new Uint16Array(new SharedArrayBuffer(n * 2)));
    this.stamps = grown(this.stamps, (n) => new Float64Array(new SharedArrayBuffer(n * 8)));
    this.idStarts = grown(this.idStarts, (n) => new Uint32Array(new SharedArrayBuffer(n * 4)));
    this.idByteLengths = grown(this.idByteLengths, (n) => new Uint32Array(new SharedArrayBuffer(n * 4)));
    this.idCapacities = grown(this.idCapacities, (n) => new Uint32Array(new SharedArrayBuffer(n * 4)));
    this.events = grown(this.events, (n) => new Float64Array(new SharedArrayBuffer(n * 8)));
    this.lastTs = grown(this.lastTs, (n) => new Float64Array(new SharedArrayBuffer(n * 8)));
  }

  private place(slot: number): { block: Int32Array; at: number } {
    return { block: this.blocks[Math.floor(slot / BLOCK_SLOTS)]!, at: (slot % BLOCK_SLOTS) * this.maxLength };
  }
}
