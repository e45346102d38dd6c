import type { ChainableCommander, Redis, Result } from 'ioredis';
import type { StoreKeys, VectorKind } from './keys.js';

/**
 * The ordered, idempotent vector write (docs/redis-layout.md, "Writes").
 * Per vector it stores the bytes only if no newer-or-equal event time is recorded for that key in that
 * version (`ts` hash), so replays and out-of-order retries never move a vector backwards, and rewriting
 * the same event is a no-op. Item writes also bump the item's revision in the `items` index, which is how
 * readers find new and changed items. A retired version's TTL is copied onto keys written late.
 * All keys share the version's hash tag, so the script runs on one Cluster slot.
 */
const WRITE_VECTORS_LUA = `
local n = #KEYS - 4
local out = {}
local dim = redis.call('HGET', KEYS[1], 'dim')
if not dim then
  for j = 1, n do out[j] = -1 end
  return out
end
local width = tonumber(dim) * 4
local ttl = redis.call('PTTL', KEYS[1])
local isItem = ARGV[1] == 'i'
local any = false
for j = 1, n do
  local at = 2 + (j - 1) * 3
  local field = ARGV[at]
  local t = tonumber(ARGV[at + 1])
  local bytes = ARGV[at + 2]
  if #bytes ~= width then
    out[j] = -2
  else
    local prev = redis.call('HGET', KEYS[2], field)
    if prev and tonumber(prev) >= t then
      out[j] = 0
    else
      redis.call('SET', KEYS[4 + j], bytes)
      redis.call('HSET', KEYS[2], field, ARGV[at + 1])
      if isItem then
        redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), string.sub(field, 3))
      end
      if ttl > 0 then redis.call('PEXPIRE', KEYS[4 + j], ttl) end
      out[j] = 1
      any = true
    end
  end
end
if any and ttl > 0 then
  for k = 2, 4 do
    if redis.call('PTTL', KEYS[k]) == -1 then redis.call('PEXPIRE', KEYS[k], ttl) end
  end
end
return out
`;

/**
 * Deletes item vectors of one version (an ItemContent tombstone: the item was delisted). Per item, only if the
 * version holds it with an older event time: the vector key goes, the event time stays as the ordering guard
 * (a late write of the old vector cannot bring it back; a re-listing, newer, can), and the item gets a new
 * revision in the `items` index so readers see the change and drop it. Returns how many were deleted.
 * KEYS: meta, ts, items, items:rev, then one vector key per item; ARGV: event time, then the item ids.
 */
const DELETE_ITEMS_LUA = `
if not redis.call('HGET', KEYS[1], 'dim') then return 0 end
local t = tonumber(ARGV[1])
local n = 0
for j = 5, #KEYS do
  local id = ARGV[j - 3]
  local field = 'i:' .. id
  local prev = redis.call('HGET', KEYS[2], field)
  if prev and tonumber(prev) < t and redis.call('EXISTS', KEYS[j]) == 1 then
    redis.call('DEL', KEYS[j])
    redis.call('HSET', KEYS[2], field, ARGV[1])
    redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), id)
    n = n + 1
  end
end
return n
`;

/** What the script says about one write. */
export const WriteCode = { applied: 1, stale: 0, unknownVersion: -1, dimMismatch: -2 } as const;
export type WriteCodeValue = (typeof WriteCode)[keyof typeof WriteCode];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    learnWriteVectors(numKeys: number, ...keysAndArgs: Array<string | Buffer>): Result<number[], Context>;
    learnDeleteItems(numKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
  }
}

/** Registers the script on a client once (ioredis then sends EVALSHA, and EVAL after a NOSCRIPT). */
export function defineWriteScript(redis: Redis): void {
  if (typeof (redis as Partial<Pick<Redis, 'learnWriteVectors'>>).learnWriteVectors === 'function') return;
  redis.defineCommand('learnWriteVectors', { lua: WRITE_VECTORS_LUA });
  redis.defineCommand('learnDeleteItems', { lua: DELETE_ITEMS_LUA });
}

/** Deletes the vectors of `ids` from one version as of `eventTime` (see DELETE_ITEMS_LUA); returns how many went. */
export function deleteItems(redis: Redis, keys: StoreKeys, version: number, ids: readonly string[], eventTime: number): Promise<number> {
  const keyArgs = [keys.meta(version), keys.eventTimes(version), keys.items(version), keys.itemRevision(version), ...ids.map((id) => keys.item(version, id))];
  return redis.learnDeleteItems(keyArgs.length, ...keyArgs, String(eventTime), ...ids);
}

export interface EncodedWrite {
  id: string;
  eventTime: number;
  bytes: Buffer;
}

/** Adds one script call for `writes` (one version, one kind) to a pipeline. */
export function queueWrite(
  pipeline: ChainableCommander,
  keys: StoreKeys,
  version: number,
  kind: VectorKind,
  writes: readonly EncodedWrite[],
): void {
  const keyArgs = [keys.meta(version), keys.eventTimes(version), keys.items(version), keys.itemRevision(version)];
  const argv: Array<string | Buffer> = [kind];
  for (const w of writes) {
    keyArgs.push(keys.vector(version, kind, w.id));
    argv.push(keys.eventTimeField(kind, w.id), String(w.eventTime), w.bytes);
  }
  pipeline.learnWriteVectors(keyArgs.length, ...keyArgs, ...argv);
}
