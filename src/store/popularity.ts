import type { ChainableCommander, Redis, Result } from 'ioredis';
import type { PopularityCounts } from '../popularity/index.js';
import type { StoreKeys } from './keys.js';

/**
 * The served prior's counts (docs/redis-layout.md, "Popularity"): one hash, item id -> "count,at", the item's
 * interactions decayed to event time `at` (ms), halving every half-life: the same arithmetic as DecayedPopularity
 * (src/popularity/decayed.ts), kept in Redis so every reader sees it. An interaction counts once: the store adds it
 * only when it is new to the user's seen set (ZADD GT CH), so a window re-sent after a crash counts nothing twice.
 * The half-life the counts were made with is kept beside them (KEYS[2]) so readers decay with the same one; a
 * writer with another one is refused (-1) rather than mixing two meanings. An unreadable value counts as absent.
 * Both keys share a hash tag, so the script runs on one Cluster slot.
 */
const ADD_POPULARITY_LUA = `
local halfLife = tonumber(ARGV[1])
local kept = redis.call('GET', KEYS[2])
if kept and tonumber(kept) ~= halfLife then return -1 end
if not kept then redis.call('SET', KEYS[2], ARGV[1]) end
for j = 2, #ARGV, 2 do
  local item = ARGV[j]
  local t = tonumber(ARGV[j + 1])
  local count, at = 1, t
  local cur = redis.call('HGET', KEYS[1], item)
  local c, a
  if cur then c, a = string.match(cur, '^([^,]+),([^,]+)$') end
  c, a = tonumber(c), tonumber(a)
  if c and a then
    at = math.max(a, t)
    count = c * math.pow(2, -(at - a) / halfLife) + math.pow(2, -(at - t) / halfLife)
  end
  redis.call('HSET', KEYS[1], item, string.format('%.17g', count) .. ',' .. string.format('%d', at))
end
return (#ARGV - 1) / 2
`;

/** What the script answers when the counts were made with another half-life. */
export const HALF_LIFE_MISMATCH = -1;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    learnAddPopularity(counts: string, halfLife: string, ...args: string[]): Result<number, Context>;
  }
}

/** Registers the script on a client once. */
export function definePopularityScript(redis: Redis): void {
  if (typeof (redis as Partial<Pick<Redis, 'learnAddPopularity'>>).learnAddPopularity === 'function') return;
  redis.defineCommand('learnAddPopularity', { lua: ADD_POPULARITY_LUA, numberOfKeys: 2 });
}

/** Adds one script call counting `interactions` (item, event time) to a pipeline. */
export function queuePopularity(pipeline: ChainableCommander, keys: StoreKeys, halfLifeMs: number, interactions: ReadonlyArray<{ itemId: string; eventTime: number }>): void {
  pipeline.learnAddPopularity(keys.popularity(), keys.popularityHalfLife(), String(halfLifeMs), ...interactions.flatMap((x) => [x.itemId, String(x.eventTime)]));
}

/** Every item's decayed count and the half-life they were made with (undefined: nothing counted yet). Unreadable values are skipped, as the script treats them. */
export async function readPopularity(redis: Redis, keys: StoreKeys): Promise<PopularityCounts | undefined> {
  const [raw, halfLife] = await Promise.all([redis.hgetall(keys.popularity()), redis.get(keys.popularityHalfLife())]);
  const halfLifeMs = Number(halfLife);
  if (halfLife === null || !(halfLifeMs > 0)) return undefined;
  const counts = new Map<string, { count: number; at: number }>();
  for (const [item, v] of Object.entries(raw)) {
    const [c, a, extra] = v.split(',');
    const count = Number(c);
    const at = Number(a);
    if (extra === undefined && Number.isFinite(count) && Number.isFinite(at)) counts.set(item, { count, at });
  }
  return { halfLifeMs, counts };
}
