import type { Redis } from 'ioredis';
import type { StoreKeys } from './keys.js';
import { decodeVector } from '../codec/vector.js';
import { currentVersion, readMeta, type VersionMeta } from './versions.js';

/** Items whose vectors changed after a revision, from a version's `items` index. */
export interface ItemChanges {
  ids: string[];
  /** Highest revision among `ids` (the `since` of the next call); `since` itself when nothing changed. */
  revision: number;
}

/**
 * A read-only view of ONE model version. Readers resolve `current` once (`VersionView.current`) and then
 * read only that version's keys, so a switch in between never mixes vectors of two versions.
 */
export class VersionView {
  private constructor(
    private readonly redis: Redis,
    private readonly keys: StoreKeys,
    readonly meta: VersionMeta,
  ) {}

  get version(): number {
    return this.meta.version;
  }

  get dim(): number {
    return this.meta.dim;
  }

  /** The current version, or undefined when none was published (or its meta expired). */
  static async current(redis: Redis, keys: StoreKeys): Promise<VersionView | undefined> {
    const v = await currentVersion(redis, keys);
    return v === undefined ? undefined : VersionView.at(redis, keys, v);
  }

  static async at(redis: Redis, keys: StoreKeys, version: number): Promise<VersionView | undefined> {
    const meta = await readMeta(redis, keys, version);
    return meta ? new VersionView(redis, keys, meta) : undefined;
  }

  async userVector(id: string): Promise<Float32Array | undefined> {
    return this.vector(this.keys.user(this.version, id));
  }

  async itemVector(id: string): Promise<Float32Array | undefined> {
    return this.vector(this.keys.item(this.version, id));
  }

  /** Raw bytes of many items in one MGET (one slot: the keys share the version's hash tag). */
  async itemVectorBytes(ids: readonly string[]): Promise<Array<Buffer | null>> {
    if (ids.length === 0) return [];
    return this.redis.mgetBuffer(...ids.map((id) => this.keys.item(this.version, id)));
  }

  /** Items written after revision `since`, at most `limit` of them, in revision order. */
  async itemsChangedSince(since: number, limit: number): Promise<ItemChanges> {
    const flat = await this.redis.zrangebyscore(this.keys.items(this.version), `(${since}`, '+inf', 'WITHSCORES', 'LIMIT', 0, limit);
    const ids: string[] = [];
    let revision = since;
    for (let j = 0; j < flat.length; j += 2) {
      ids.push(flat[j] ?? '');
      revision = Math.max(revision, Number(flat[j + 1]));
    }
    return { ids, revision };
  }


  private async vector(key: string): Promise<Float32Array | undefined> {
    const bytes = await this.redis.getBuffer(key);
    if (bytes === null) return undefined;
    if (bytes.length !== this.dim * 4) throw new Error(`vector at ${key} has ${bytes.length} bytes, expected ${this.dim * 4} (dim ${this.dim})`);
    return decodeVector(bytes);
  }
}

/** The items a user interacted with (newest `limit`), for exclusion. Not versioned: behaviour, not model output. */
export async function seenItems(redis: Redis, keys: StoreKeys, userId: string, limit = 10_000): Promise<string[]> {
  return redis.zrange(keys.seen(userId), 0, limit - 1, 'REV');
}
