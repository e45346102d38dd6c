/** One user's recent items (oldest first) and how many events they have had in all. */
export interface UserHistory {
  items: string[];
  events: number;
  lastTs: number;
}

export interface HistoriesSnapshot {
  maxLength: number;
  maxUsers: number;
  /** In recency order, least recently active first. */
  users: Array<[string, UserHistory]>;
}

/**
 * Per-user histories, bounded twice: each keeps its last `maxLength` items, and at most `maxUsers` users are
 * kept, evicting the least recently active (a Map keeps insertion order; a touched user is re-inserted at the end).
 * Memory is about maxUsers x (maxLength x item-id length + 100) bytes.
 */
export class UserHistories {
  private readonly users = new Map<string, UserHistory>();
  evicted = 0;

  constructor(
    readonly maxLength: number,
    readonly maxUsers: number,
  ) {}

  get size(): number {
    return this.users.size;
  }

  get(userId: string): UserHistory | undefined {
    return this.users.get(userId);
  }

  /** Appends a user's new items (in event order) and marks the user most recently active. */
  append(userId: string, items: readonly string[], lastTs: number): void {
    const h = this.users.get(userId) ?? { items: [], events: 0, lastTs };
    this.users.delete(userId);
    h.items.push(...items);
    if (h.items.length > this.maxLength) h.items.splice(0, h.items.length - this.maxLength);
    h.events += items.length;
    h.lastTs = Math.max(h.lastTs, lastTs);
    this.users.set(userId, h);
    while (this.users.size > this.maxUsers) {
      const oldest = this.users.keys().next().value;
      if (oldest === undefined) break;
      this.users.delete(oldest);
      this.evicted++;
    }
  }

  /** The most recently active users, newest first. */
  recent(limit: number): string[] {
    const ids = [...this.users.keys()];
    return ids.slice(Math.max(0, ids.length - limit)).reverse();
  }

  snapshot(): HistoriesSnapshot {
    return { maxLength: this.maxLength, maxUsers: this.maxUsers, users: [...this.users] };
  }

  static restore(s: HistoriesSnapshot, maxLength: number, maxUsers: number): UserHistories {
    const h = new UserHistories(maxLength, maxUsers);
    for (const [id, u] of s.users) h.append(id, u.items, u.lastTs);
    // append counted the kept items only; restore the true event counts.
    for (const [id, u] of s.users) {
      const got = h.users.get(id);
      if (got) got.events = u.events;
    }
    return h;
  }
}
