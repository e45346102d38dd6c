import type { ChainableCommander, Redis, Result } from 'ioredis';
import { decayFactor, type PopularityCounts } from '../popularity/index.js';
import type { StoreKeys } from './keys.js';

/**
 * The served prior's counts (docs/redis-layout.md, "Popularity"): one hash, item id -> "count,at", the item's
 * interactions decayed to event time `at` (ms), halving every half-life: the same arithmetic as DecayedPopularity
 * (src/popularity/decayed.ts), kept in Redis so every reader sees it. An interaction counts once: the store adds it
 * only when it is new to the user's seen set (ZADD GT CH), so a window re-sent after a crash counts nothing twice.
 * The half-life the counts were made with is kept beside them (KEYS[2]) so readers decay with the same one; a
 * writer with another one is refused (-1) rather than mixing two meanings. An unreadable value counts as absent.
 * Bounded: each call also prunes counts that have decayed below `pruneBelow` (LEARN_POPULARITY_PRUNE_BELOW) at the
 * newest time it counted, looked up from the oldest end of an index by `at` (KEYS[3]). Readers fetch only what changed:
 * every counted item's last change has a revision (KEYS[4], from the counter KEYS[5]); a pruned item leaves both
 * indexes, and readers drop it by the same rule (pruneCounts). All keys share a hash tag: one Cluster slot.
 */
const ADD_POPULARITY_LUA = `
local halfLife = tonumber(ARGV[1])
local pruneBelow = tonumber(ARGV[2])
local kept = redis.call('GET', KEYS[2])
if kept and tonumber(kept) ~= halfLife then return -1 end
if not kept then redis.call('SET', KEYS[2], ARGV[1]) end
local newest = nil
local touched = 0
for j = 3, #ARGV, 2 do
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
  redis.call('ZADD', KEYS[3], at, item)
  redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[5]), item)
  if not newest or at > newest then newest = at end
  touched = touched + 1
end
if pruneBelow > 0 and newest then
  -- A count is at least 1 at its own time, so only items older than log2(1 / pruneBelow) half-lives can have decayed
  -- below the threshold; look at a few more of them than were touched, so pruning keeps pace with new items.
  local horizon = newest - halfLife * math.log(1 / pruneBelow) / math.log(2)
  local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', string.format('%d', horizon), 'LIMIT', 0, touched + 8)
  for _, item in ipairs(old) do
    local cur = redis.call('HGET', KEYS[1], item)
    local c, a
    if cur then c, a = string.match(cur, '^([^,]+),([^,]+)$') end
    c, a = tonumber(c), tonumber(a)
    if not (c and a) or c * math.pow(2, -(newest - a) / halfLife) < pruneBelow then
      redis.call('HDEL', KEYS[1], item)
      redis.call('ZREM', KEYS[3], item)
      redis.call('ZREM', KEYS[4], item)
    end
  end
end
return touched
`;

/** What the script answers when the counts were made with another half-life. */
export const HALF_LIFE_MISMATCH = -1;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    learnAddPopularity(counts: string, halfLife: string, at: string, changes: string, revision: string, ...args: string[]): Result<number, Context>;
  }
}

/** Registers the script on a client once. */
export function definePopularityScript(redis: Redis): void {
  if (typeof (redis as Partial<Pick<Redis, 'learnAddPopularity'>>).learnAddPopularity === 'function') return;
  redis.defineCommand('learnAddPopularity', { lua: ADD_POPULARITY_LUA, numberOfKeys: 5 });
}

/** Adds one script call counting `interactions` (item, event time) to a pipeline, pruning below `pruneBelow` (0: never). */
export function queuePopularity(
  pipeline: ChainableCommander,
  keys: StoreKeys,
  halfLifeMs: number,
  pruneBelow: number,
  interactions: ReadonlyArray<{ itemId: string; eventTime: number }>,
): void {
  pipeline.learnAddPopularity(
    keys.popularity(),
    keys.popularityHalfLife(),
    keys.popularityAt(),
    keys.popularityChanges(),
    keys.popularityRevision(),
    String(halfLifeMs),
    String(pruneBelow),
    ...interactions.flatMap((x) => [x.itemId, String(x.eventTime)]),
  );
}

/** Every item's decayed count and the half-life they were made with (undefined: nothing counted yet). Unreadable values are skipped, as the script treats them. */
export async function readPopularity(redis: Redis, keys: StoreKeys): Promise<PopularityCounts | undefined> {
  const [raw, halfLife] = await Promise.all([redis.hgetall(keys.popularity()), redis.get(keys.popularityHalfLife())]);
  const halfLifeMs = Number(halfLife);
  if (halfLife === null || !(halfLifeMs > 0)) return undefined;
  const counts = new Map<string, { count: number; at: number }>();
  for (const [item, v] of Object.entries(raw)) {
    const c = parseCount(v);
    if (c) counts.set(item, c);
  }
  return { halfLifeMs, counts };
}

function parseCount(v: string | null): { count: number; at: number } | undefined {
  const [c, a, extra] = (v ?? '').split(',');
  const count = Number(c);
  const at = Number(a);
  return extra === undefined && c !== '' && Number.isFinite(count) && Number.isFinite(at) ? { count, at } : undefined;
}

const CHANGES_BATCH = 5_000;

/**
 * The popularity counts, kept fresh by reading only what changed: the first read takes every count; later ones the
 * items whose revision grew since (ZRANGEBYSCORE on the change index, then HMGET). A revision counter that went back
 * (the keys deleted and started afresh) means a full read again. Counts pruned in Redis are dropped here by the same
 * rule (pruneCounts), so the copy stays as small as the hash.
 */
export class PopularityReader {
  private counts = new Map<string, { count: number; at: number }>();
  private halfLifeMs: number | undefined;
  private revision = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: StoreKeys,
    private readonly pruneBelow: number,
  ) {}

  /** Reads what changed; returns the counts (undefined: nothing counted yet) and how many items were read. */
  async read(): Promise<{ counts: PopularityCounts | undefined; read: number }> {
    const [halfLife, rev] = await Promise.all([this.redis.get(this.keys.popularityHalfLife()), this.redis.get(this.keys.popularityRevision())]);
    const halfLifeMs = Number(halfLife);
    if (halfLife === null || !(halfLifeMs > 0)) {
      this.reset();
      return { counts: undefined, read: 0 };
    }
    const revision = Number(rev ?? 0);
    let read = 0;
    if (rev === null || revision < this.revision || halfLifeMs !== this.halfLifeMs) {
      // Counts written before the change index existed, or started afresh: read them whole.
      const whole = await readPopularity(this.redis, this.keys);
      this.counts = new Map(whole?.counts ?? []);
      this.halfLifeMs = halfLifeMs;
      this.revision = rev === null ? 0 : revision;
      read = this.counts.size;
    } else {
      for (;;) {
        const flat = await this.redis.zrangebyscore(this.keys.popularityChanges(), `(${this.revision}`, '+inf', 'WITHSCORES', 'LIMIT', 0, CHANGES_BATCH);
        if (flat.length === 0) break;
        const ids: string[] = [];
        for (let j = 0; j < flat.length; j += 2) {
          ids.push(flat[j] ?? '');
          this.revision = Math.max(this.revision, Number(flat[j + 1]));
        }
        const values = await this.redis.hmget(this.keys.popularity(), ...ids);
        ids.forEach((id, j) => {
          const c = parseCount(values[j] ?? null);
          if (c) this.counts.set(id, c);
          else this.counts.delete(id);
        });
        read += ids.length;
        if (ids.length < CHANGES_BATCH) break;
      }
    }
    pruneCounts(this.counts, halfLifeMs, this.pruneBelow);
    return { counts: { halfLifeMs, counts: this.counts }, read };
  }

  private reset(): void {
    this.counts = new Map();
    this.halfLifeMs = undefined;
    this.revision = 0;
  }
}

/** Drops the counts decayed below `pruneBelow` at the newest count's time, as the store's script does (0: none). */
export function pruneCounts(counts: Map<string, { count: number; at: number }>, halfLifeMs: number, pruneBelow: number): void {
  if (!(pruneBelow > 0)) return;
  let newest = -Infinity;
  for (const c of counts.values()) newest = Math.max(newest, c.at);
  for (const [id, c] of counts) if (c.count * decayFactor(newest - c.at, halfLifeMs) < pruneBelow) counts.delete(id);
}
