import type { ChainableCommander, Redis, Result } from 'ioredis';
import type { StoreKeys } from './keys.js';

/**
 * The served prior's counts (docs/redis-layout.md, "Popularity"): one hash, item id -> "count,at", the item's
 * interactions decayed to event time `at` (ms), halving every half-life: the same arithmetic as DecayedPopularity
 * (src/popularity/decayed.ts), kept in Redis so every reader sees it. An interaction counts once: the store adds it
 * only when it is new to the user's seen set (ZADD GT CH), so a window re-sent after a crash counts nothing twice.
 * One key, so the script runs on one Cluster slot.
 */
const ADD_POPULARITY_LUA = `
local halfLife = tonumber(ARGV[1])
for j = 2, #ARGV, 2 do
  local item = ARGV[j]
  local t = tonumber(ARGV[j + 1])
  local cur = redis.call('HGET', KEYS[1], item)
  local count, at = 1, t
  if cur then
    local c, a = string.match(cur, '^([^,]+),([^,]+)$')
    c, a = tonumber(c), tonumber(a)
    at = math.max(a, t)
    count = c * math.pow(2, -(at - a) / halfLife) + math.pow(2, -(at - t) / halfLife)
  end
  redis.call('HSET', KEYS[1], item, string.format('%.17g', count) .. ',' .. string.format('%d', at))
end
return (#ARGV - 1) / 2
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    learnAddPopularity(key: string, ...args: string[]): Result<number, Context>;
  }
}

/** Registers the script on a client once. */
export function definePopularityScript(redis: Redis): void {
  if (typeof (redis as Partial<Pick<Redis, 'learnAddPopularity'>>).learnAddPopularity === 'function') return;
  redis.defineCommand('learnAddPopularity', { lua: ADD_POPULARITY_LUA, numberOfKeys: 1 });
}

/** Adds one script call counting `interactions` (item, event time) to a pipeline. */
export function queuePopularity(pipeline: ChainableCommander, keys: StoreKeys, halfLifeMs: number, interactions: ReadonlyArray<{ itemId: string; eventTime: number }>): void {
  pipeline.learnAddPopularity(keys.popularity(), String(halfLifeMs), ...interactions.flatMap((x) => [x.itemId, String(x.eventTime)]));
}

/** One item's decayed count as stored: `count` as of event time `at`. */
export interface StoredPopularity {
  count: number;
  at: number;
}

/** Every item's decayed count (one HGETALL); malformed fields are skipped. */
export async function readPopularity(redis: Redis, keys: StoreKeys): Promise<Map<string, StoredPopularity>> {
  const raw = await redis.hgetall(keys.popularity());
  const out = new Map<string, StoredPopularity>();
  for (const [item, v] of Object.entries(raw)) {
    const [c, a] = v.split(',');
    const count = Number(c);
    const at = Number(a);
    if (Number.isFinite(count) && Number.isFinite(at)) out.set(item, { count, at });
  }
  return out;
}
