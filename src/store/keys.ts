/**
 * The only place Redis key names are built (docs/redis-layout.md describes them).
 *
 * Every key of one model version carries the hash tag `{v<ver>}`, so a version's vectors, its event-time
 * hash, its item index and its meta hash share one Redis Cluster slot: the write script and the reader's
 * MGETs can touch them together. Keys that are not per version (current pointer, counters, seen sets) have
 * no tag. Ids are the tail of a key, so an id holding ':' or '{' cannot change another key's meaning.
 */
export type VectorKind = 'u' | 'i';

export class StoreKeys {
  constructor(readonly prefix: string = 'learn') {
    if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new Error(`bad Redis key prefix "${prefix}": use letters, digits, _ . -`);
  }

  /**
   * String: the highest fencing token (trainer lease) that switched `current`. Its hash tag is the whole name of
   * `current`, so the publish script reads both on one Cluster slot.
   */
  currentFence(): string {
    return `{${this.current()}}:fence`;
  }

  /** String: the version id readers should use. */
  current(): string {
    return `${this.prefix}:model:current`;
  }

  /** Integer counter: INCR gives the next version id. */
  versionCounter(): string {
    return `${this.prefix}:model:next-version`;
  }

  /** Sorted set: version id -> created_at ms; lets a sweep find versions still lacking a TTL. */
  versions(): string {
    return `${this.prefix}:model:versions`;
  }

  /** The hash tag shared by every key of one version. */
  private tag(version: number): string {
    return `${this.prefix}:{v${version}}`;
  }

  /** Hash: dim, created_at, config, checkpoint, state (building|live|retired), published_at. */
  meta(version: number): string {
    return `${this.tag(version)}:meta`;
  }

  /** String: float32 little-endian vector bytes of one user or item. */
  vector(version: number, kind: VectorKind, id: string): string {
    return `${this.tag(version)}:${kind}:${id}`;
  }

  user(version: number, id: string): string {
    return this.vector(version, 'u', id);
  }

  item(version: number, id: string): string {
    return this.vector(version, 'i', id);
  }

  /**
   * Hash: `u:<id>` / `i:<id>` -> write order of the vector stored (see write-order.ts); the ordering guard and the
   * version's key index. (Named `ts` since it held event times once.)
   */
  writeOrders(version: number): string {
    return `${this.tag(version)}:ts`;
  }

  /** Field of `writeOrders` for one vector. */
  writeOrderField(kind: VectorKind, id: string): string {
    return `${kind}:${id}`;
  }

  /** Sorted set: item id -> revision of its last applied write; readers fetch items with a higher revision. */
  items(version: number): string {
    return `${this.tag(version)}:items`;
  }

  /** Integer counter: the revision the write script gives to item writes of a version. */
  itemRevision(version: number): string {
    return `${this.tag(version)}:items:rev`;
  }

  /** Sorted set: item id -> last interaction time (ms) of one user, bounded; served items exclude it. */
  seen(userId: string): string {
    return `${this.prefix}:u:${userId}:seen`;
  }

  /** Hash: item id -> "count,at", its decayed interaction count (src/store/popularity.ts); not versioned: behaviour, not model output. */
  popularity(): string {
    return `${this.prefix}:{pop}`;
  }

  /** String: the half-life (ms) the popularity counts were made with; shares their hash tag. */
  popularityHalfLife(): string {
    return `${this.prefix}:{pop}:half-life`;
  }

  /** Sorted set: counted item id -> its count's event time `at`; the store prunes from its oldest end. Shares `{pop}`. */
  popularityAt(): string {
    return `${this.prefix}:{pop}:at`;
  }

  /** Sorted set: counted item id -> revision of its last change; readers fetch only what changed since theirs. */
  popularityChanges(): string {
    return `${this.prefix}:{pop}:changes`;
  }

  /** Integer counter: the revision of the last change to the counts (a reader ahead of it reads them afresh). */
  popularityRevision(): string {
    return `${this.prefix}:{pop}:rev`;
  }

  /** Parses the field of `writeOrders` back into a vector key (used when expiring a version). */
  keyOfWriteOrderField(version: number, field: string): string | undefined {
    const kind = field.slice(0, 2);
    if (kind !== 'u:' && kind !== 'i:') return undefined;
    return this.vector(version, kind[0] as VectorKind, field.slice(2));
  }
}

/**
 * The trainer's pipeline lease (src/trainer/pipeline-lease.ts): one key per consumer group and events topic, whatever
 * the Redis prefix, and one token counter for all of them (tokens only grow, so any two compare). One hash tag: one
 * Cluster slot for the acquire script.
 */
export function trainerLeaseKeys(group: string, topic: string): { lease: string; token: string } {
  if (/[{}\s]/.test(group + topic)) throw new Error(`bad consumer group or topic for a lease key: "${group}", "${topic}"`);
  return { lease: `learn:{trainer-lease}:${group}:${topic}`, token: 'learn:{trainer-lease}:fencing-token' };
}
