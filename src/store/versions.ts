import type { Redis, Result } from 'ioredis';
import { log } from '../ops/logger.js';
import { StoreError } from './errors.js';
import type { StoreKeys } from './keys.js';

const l = log('store.versions');

export type VersionState = 'building' | 'live' | 'retired';

/** What `beginVersion` records about a model version; `dim` is the length of every vector in it. */
export interface NewVersionMeta {
  dim: number;
  /** The model config (JSON-encoded when an object). */
  config?: unknown;
  /** Id of the trainer checkpoint the vectors came from. */
  checkpointId?: string;
  /**
   * A version id the new one must exceed: the writer's last version, in case the counter went with a flushed or
   * restarted Redis (readers only ever move forward, so a reused lower id would never be served).
   */
  above?: number;
}

export interface VersionMeta {
  version: number;
  dim: number;
  createdAt: number;
  config: string;
  checkpointId: string;
  state: VersionState;
  /** The highest write order applied to the version (0 before any write): a restarted writer continues above it. */
  order: number;
}

/**
 * Moves `current` forward only: a stale trainer (or a retried publish) can never switch readers back to an
 * older version. Nor can a trainer whose fencing token is older than the last switch's (a paused trainer whose
 * successor took over: issue 23 §2). The fence key shares the hash tag of `current`, so it is atomic on a Cluster
 * too. Returns the previous version id or false.
 */
const PUBLISH_LUA = `
local fenced = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[2]) < fenced then
  return redis.error_reply('FENCED a trainer with fencing token ' .. fenced .. ' took over')
end
if tonumber(ARGV[2]) > fenced then redis.call('SET', KEYS[2], ARGV[2]) end
local old = redis.call('GET', KEYS[1])
if old and tonumber(old) > tonumber(ARGV[1]) then
  return redis.error_reply('STALE current version is ' .. old)
end
redis.call('SET', KEYS[1], ARGV[1])
return old or false
`;

/** The next version id, above ARGV[1]: INCR, or the counter set past a floor it lost (a flushed Redis). */
const NEXT_VERSION_LUA = `
local v = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if v <= floor then
  v = floor + 1
  redis.call('SET', KEYS[1], v)
end
return v
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    learnPublishVersion(current: string, fence: string, version: string, token: string): Result<string | null, Context>;
    learnNextVersion(key: string, floor: string): Result<number, Context>;
  }
}

export function defineVersionScripts(redis: Redis): void {
  if (typeof (redis as Partial<Pick<Redis, 'learnPublishVersion'>>).learnPublishVersion === 'function') return;
  redis.defineCommand('learnPublishVersion', { lua: PUBLISH_LUA, numberOfKeys: 2 });
  redis.defineCommand('learnNextVersion', { lua: NEXT_VERSION_LUA, numberOfKeys: 1 });
}

/** `fence`: the creator's fencing token, recorded as the version's (see the write script). */
export async function beginVersion(redis: Redis, keys: StoreKeys, meta: NewVersionMeta, fence = 0): Promise<number> {
  if (!Number.isInteger(meta.dim) || meta.dim < 1) throw new StoreError('bad-vector', `beginVersion: dim must be a positive integer, got ${meta.dim}`);
  const version = await redis.learnNextVersion(keys.versionCounter(), String(meta.above ?? 0));
  const now = Date.now();
  const config = typeof meta.config === 'string' ? meta.config : JSON.stringify(meta.config ?? {});
  await redis
    .multi()
    .hset(keys.meta(version), { dim: meta.dim, created_at: now, config, checkpoint: meta.checkpointId ?? '', state: 'building', fence })
    .zadd(keys.versions(), now, String(version))
    .exec();
  l.info({ version, dim: meta.dim, checkpointId: meta.checkpointId }, 'version begun');
  return version;
}

export async function readMeta(redis: Redis, keys: StoreKeys, version: number): Promise<VersionMeta | undefined> {
  const h = await redis.hgetall(keys.meta(version));
  if (h.dim === undefined) return undefined;
  return {
    version,
    dim: Number(h.dim),
    createdAt: Number(h.created_at ?? 0),
    config: h.config ?? '{}',
    checkpointId: h.checkpoint ?? '',
    state: (h.state ?? 'building') as VersionState,
    order: Number(h.order ?? 0),
  };
}

export async function currentVersion(redis: Redis, keys: StoreKeys): Promise<number | undefined> {
  const v = await redis.get(keys.current());
  return v === null ? undefined : Number(v);
}

/**
 * Switches readers to `version`, then gives every older version (the one it replaced, and any earlier one
 * a crash left without a TTL) `graceSeconds` to live, so readers pinned to it can finish.
 */
export async function publishVersion(redis: Redis, keys: StoreKeys, version: number, graceSeconds: number, fence = 0): Promise<number | undefined> {
  const meta = await readMeta(redis, keys, version);
  if (!meta) throw new StoreError('unknown-version', `publishVersion: version ${version} does not exist (begin it first)`);
  await redis.hset(keys.meta(version), { state: 'live', published_at: Date.now() });
  let previous: string | null;
  try {
    previous = await redis.learnPublishVersion(keys.current(), keys.currentFence(), String(version), String(fence));
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('FENCED')) throw new StoreError('fenced', `publishVersion: refused: ${err.message.slice(7)}`);
    if (err instanceof Error && err.message.startsWith('STALE')) {
      throw new StoreError('unknown-version', `publishVersion: refusing to go back to version ${version}: ${err.message.slice(6)}`);
    }
    throw err;
  }
  l.info({ version, previous }, 'version published');
  await retireOlderVersions(redis, keys, version, graceSeconds);
  return previous === null ? undefined : Number(previous);
}

/** Marks `version` retired and puts a TTL of `graceSeconds` on its meta, index and every vector key. */
export async function retireVersion(redis: Redis, keys: StoreKeys, version: number, graceSeconds: number): Promise<void> {
  const ttlMs = Math.max(1, Math.round(graceSeconds * 1000));
  // Meta first: a write landing after this copies the TTL itself (see the write script); every key
  // written before it is in the ts hash, which the scan below walks.
  await redis
    .multi()
    .hset(keys.meta(version), { state: 'retired', retired_at: Date.now() })
    .pexpire(keys.meta(version), ttlMs)
    .pexpire(keys.writeOrders(version), ttlMs)
    .pexpire(keys.items(version), ttlMs)
    .pexpire(keys.itemRevision(version), ttlMs)
    .exec();
  let cursor = '0';
  let expired = 0;
  do {
    const [next, flat] = await redis.hscan(keys.writeOrders(version), cursor, 'COUNT', 1000);
    cursor = next;
    const p = redis.pipeline();
    for (let j = 0; j < flat.length; j += 2) {
      const key = keys.keyOfWriteOrderField(version, flat[j] ?? '');
      if (key) p.pexpire(key, ttlMs);
    }
    if (p.length > 0) {
      await p.exec();
      expired += p.length;
    }
  } while (cursor !== '0');
  l.info({ version, graceSeconds, vectors: expired }, 'version retired');
}

async function retireOlderVersions(redis: Redis, keys: StoreKeys, current: number, graceSeconds: number): Promise<void> {
  const older = (await redis.zrangebyscore(keys.versions(), '-inf', '+inf')).map(Number).filter((v) => v < current);
  for (const v of older) {
    const ttl = await redis.pttl(keys.meta(v));
    if (ttl === -2) await redis.zrem(keys.versions(), String(v));
    else if (ttl === -1) await retireVersion(redis, keys, v, graceSeconds);
  }
}
