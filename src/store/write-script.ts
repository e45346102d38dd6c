import type { ChainableCommander, Redis, Result } from 'ioredis';
import type { StoreKeys, VectorKind } from './keys.js';

/**
 * The ordered, idempotent vector write (docs/redis-layout.md, "Writes").
 * Per vector it stores the bytes only if no higher-or-equal write order is recorded for that key in that
 * version (`ts` hash), so retries and re-sent older writes never move a vector backwards, and re-sending the
 * same write is a no-op. The order is the writer's (write-order.ts), never a record's event time. The highest
 * order applied is kept in the meta hash (`order`), so a restarted writer continues above it. Item writes also
 * bump the item's revision in the `items` index, which is how readers find new and changed items. A retired
 * version's TTL is copied onto keys written late. All keys share the version's hash tag, so the script runs on
 * one Cluster slot. Fencing (issue 23 §2): the meta hash keeps the highest trainer-lease token that wrote to the
 * version (`fence`); a write carrying a lower one (a paused trainer whose successor took over) is refused whole.
 */
const WRITE_VECTORS_LUA = `
local n = #KEYS - 4
local out = {}
local dim = redis.call('HGET', KEYS[1], 'dim')
if not dim then
  for j = 1, n do out[j] = -1 end
  return out
end
local fence = tonumber(ARGV[2])
local fenced = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
if fence < fenced then
  for j = 1, n do out[j] = -3 end
  return out
end
if fence > fenced then redis.call('HSET', KEYS[1], 'fence', ARGV[2]) end
local width = tonumber(dim) * 4
local ttl = redis.call('PTTL', KEYS[1])
local isItem = ARGV[1] == 'i'
local any = false
local highest = 0
for j = 1, n do
  local at = 3 + (j - 1) * 3
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
      if t > highest then highest = t end
    end
  end
end
if any and highest > (tonumber(redis.call('HGET', KEYS[1], 'order')) or 0) then
  redis.call('HSET', KEYS[1], 'order', tostring(highest))
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
 * version holds it with a lower write order: the vector key goes, the delete's order stays as the ordering guard
 * (a late write of the old vector cannot bring it back; a re-listing, later, can), and the item gets a new
 * revision in the `items` index so readers see the change and drop it. Returns how many were deleted.
 * Refused (-1) for a fencing token below the version's (see the write script).
 * KEYS: meta, ts, items, items:rev, then one vector key per item; ARGV: write order, fencing token, then the item ids.
 */
const DELETE_ITEMS_LUA = `
if not redis.call('HGET', KEYS[1], 'dim') then return 0 end
if tonumber(ARGV[2]) < tonumber(redis.call('HGET', KEYS[1], 'fence') or '0') then return -1 end
local t = tonumber(ARGV[1])
local n = 0
for j = 5, #KEYS do
  local id = ARGV[j - 2]
  local field = 'i:' .. id
  local prev = redis.call('HGET', KEYS[2], field)
  if prev and tonumber(prev) < t and redis.call('EXISTS', KEYS[j]) == 1 then
    redis.call('DEL', KEYS[j])
    redis.call('HSET', KEYS[2], field, ARGV[1])
    redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), id)
    n = n + 1
  end
end
if n > 0 and t > (tonumber(redis.call('HGET', KEYS[1], 'order')) or 0) then
  redis.call('HSET', KEYS[1], 'order', ARGV[1])
end
return n
`;

/** What the script says about one write. */
export const WriteCode = { applied: 1, stale: 0, unknownVersion: -1, dimMismatch: -2, fenced: -3 } as const;
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

/**
 * Deletes the vectors of `ids` from one version as of write order `order` (see DELETE_ITEMS_LUA); returns how many
 * went, or -1 if a writer with a newer fencing token than `fence` owns the version.
 */
export function deleteItems(redis: Redis, keys: StoreKeys, version: number, ids: readonly string[], order: number, fence: number): Promise<number> {
  const keyArgs = [keys.meta(version), keys.writeOrders(version), keys.items(version), keys.itemRevision(version), ...ids.map((id) => keys.item(version, id))];
  return redis.learnDeleteItems(keyArgs.length, ...keyArgs, String(order), String(fence), ...ids);
}

export interface EncodedWrite {
  id: string;
  /** Write order (write-order.ts): applies only over a lower one. */
  order: number;
  bytes: Buffer;
}

/** Adds one script call for `writes` (one version, one kind) to a pipeline, carrying the writer's fencing token (0: none). */
export function queueWrite(
  pipeline: ChainableCommander,
  keys: StoreKeys,
  version: number,
  kind: VectorKind,
  writes: readonly EncodedWrite[],
  fence = 0,
): void {
  const keyArgs = [keys.meta(version), keys.writeOrders(version), keys.items(version), keys.itemRevision(version)];
  const argv: Array<string | Buffer> = [kind, String(fence)];
  for (const w of writes) {
    keyArgs.push(keys.vector(version, kind, w.id));
    argv.push(keys.writeOrderField(kind, w.id), String(w.order), w.bytes);
  }
  pipeline.learnWriteVectors(keyArgs.length, ...keyArgs, ...argv);
}
