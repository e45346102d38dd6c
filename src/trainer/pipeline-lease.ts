import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis, Result } from 'ioredis';
import { z } from 'zod';
import { log } from '../ops/logger.js';
import { trainerLeaseKeys } from '../store/keys.js';
import { isRedisAuthError } from '../store/redis-client.js';
import { alive } from './state-lock.js';

/**
 * Takes the lease when it is free: a new fencing token (INCR of one counter for every pipeline, so tokens only grow
 * and any two are comparable) and the lease's value, `<token> <holder JSON>`, with a TTL. Else 0 and the holder's value.
 * KEYS: lease, token counter (one hash tag: one Cluster slot); ARGV: holder JSON, TTL ms.
 */
const ACQUIRE_LUA = `
local held = redis.call('GET', KEYS[1])
if held then return {0, held} end
local token = redis.call('INCR', KEYS[2])
local value = token .. ' ' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return {token, value}
`;

/** Renews a lease still ours (1), or says it lapsed (0) or another holds it (-1). KEYS: lease; ARGV: our value, TTL ms. */
const RENEW_LUA = `
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if held then return -1 end
return 0
`;

/** Deletes the lease if it holds `value` (ours, or a dead holder's being taken over). KEYS: lease; ARGV: value. */
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    learnLeaseAcquire(lease: string, token: string, holder: string, ttlMs: string): Result<[number, string], Context>;
    learnLeaseRenew(lease: string, value: string, ttlMs: string): Result<number, Context>;
    learnLeaseRelease(lease: string, value: string): Result<number, Context>;
  }
}

const HolderSchema = z.object({ host: z.string(), pid: z.number().int(), since: z.string(), stateDir: z.string() });
export type LeaseHolder = z.infer<typeof HolderSchema> & { token: number };

/** Parses a lease value `<token> <holder JSON>`; undefined if it is not one. */
function parseValue(value: string): LeaseHolder | undefined {
  const space = value.indexOf(' ');
  try {
    const holder = HolderSchema.safeParse(JSON.parse(value.slice(space + 1)));
    const token = Number(value.slice(0, space));
    return holder.success && Number.isSafeInteger(token) ? { ...holder.data, token } : undefined;
  } catch {
    return undefined;
  }
}

/** Another live trainer holds this pipeline's lease. */
export class PipelineLeasedError extends Error {
  constructor(
    readonly pipeline: string,
    readonly holder: LeaseHolder | undefined,
  ) {
    const who = holder ? `trainer pid ${holder.pid} on ${holder.host} since ${holder.since} (state directory ${holder.stateDir}, fencing token ${holder.token})` : 'a trainer whose lease is unreadable';
    super(`the pipeline ${pipeline} is held by ${who}. One trainer per pipeline (consumer group and events topic): stop the other one, or give this one its own LEARN_GROUP_PREFIX and LEARN_REDIS_PREFIX.`);
    this.name = 'PipelineLeasedError';
  }
}

export interface LeaseOptions {
  /** The trainer's consumer group and its user-events topic: what one trainer at a time may consume. */
  group: string;
  topic: string;
  /** Shown to a trainer refused (LEARN_STATE_DIR). */
  stateDir: string;
  /** How long the lease outlives its holder's last renewal (LEARN_TRAINER_LEASE_MS); renewed every third of it. */
  ttlMs: number;
  /** A new token after the lease lapsed and was taken again (the store's writes must carry it). */
  onToken: (token: number) => void;
  /** The lease was taken by another trainer: this one is a zombie and must stop. */
  onLost: (err: PipelineLeasedError) => void;
}

/** Leases this process holds: a second trainer in it is refused, and an old holder with our pid is a restarted container. */
const heldHere = new Set<string>();


/**
 * The trainer's lease on its pipeline (issue 23 §2, §3), in Redis, the place every host of a deployment shares: SET NX
 * PX with a fencing token, renewed while the trainer lives. A holder that stops renewing (SIGKILL, a lost node, a pod
 * replaced under a new hostname) loses it after the TTL; a second trainer meanwhile is refused with the holder's host,
 * pid and start. The token goes with every vector write and version switch, and the store refuses those of an older
 * token: a paused trainer that wakes up after its successor took over cannot write over it.
 */
export class PipelineLease {
  private timer: NodeJS.Timeout | undefined;
  private value: string;
  private confirmedAt = Date.now();
  private released = false;
  private readonly l = log('trainer.lease');

  private constructor(
    private readonly redis: Redis,
    private readonly o: LeaseOptions,
    readonly key: string,
    private readonly tokenKey: string,
    private currentToken: number,
    value: string,
  ) {
    this.value = value;
  }

  /** The fencing token the store's writes carry now. */
  get token(): number {
    return this.currentToken;
  }

  /** Whether the lease is surely still ours: renewed within its TTL (by our clock, with a margin for skew). */
  held(): boolean {
    return !this.released && Date.now() - this.confirmedAt < this.o.ttlMs * 0.8;
  }

  /**
   * Takes the lease, waiting for Redis if it is away. A holder on this host whose process is gone is taken over at
   * once; any other holder is watched for one TTL: a live one renews (refused, with who holds it), a dead one lapses.
   */
  static async acquire(redis: Redis, o: LeaseOptions): Promise<PipelineLease> {
    defineLeaseScripts(redis);
    const { lease, token } = trainerLeaseKeys(o.group, o.topic);
    const pipeline = `${o.group}/${o.topic}`;
    const me = JSON.stringify({ host: hostname(), pid: process.pid, since: new Date().toISOString(), stateDir: o.stateDir });
    const l = log('trainer.lease');
    let watching: { value: string; pttl: number; until: number } | undefined;
    let redisWarned = false;
    for (;;) {
      try {
        // The project's clients connect lazily and queue nothing offline.
        if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
        const [got, value] = await redis.learnLeaseAcquire(lease, token, me, String(o.ttlMs));
        if (got > 0) {
          l.info({ pipeline, token: got, ttlMs: o.ttlMs }, 'pipeline lease taken');
          heldHere.add(lease);
          const taken = new PipelineLease(redis, o, lease, token, got, value);
          taken.startRenewing();
          return taken;
        }
        const holder = parseValue(value);
        const gone = holder !== undefined && (holder.pid === process.pid ? !heldHere.has(lease) : !alive(holder.pid));
        if (holder && holder.host === hostname() && gone) {
          l.warn({ pipeline, holder }, 'taking over the lease of a trainer gone from this host');
          await redis.learnLeaseRelease(lease, value);
          continue;
        }
        if (holder && holder.host === hostname()) throw new PipelineLeasedError(pipeline, holder);
        // Another host (or this process): alive only if it renews. A renewal raises the remaining TTL.
        const pttl = await redis.pttl(lease);
        if (watching?.value === value && pttl > watching.pttl + 50) throw new PipelineLeasedError(pipeline, holder);
        if (watching?.value !== value) {
          watching = { value, pttl, until: Date.now() + o.ttlMs + 1_000 };
          l.warn({ pipeline, holder, remainingMs: pttl }, 'pipeline lease held elsewhere: waiting to see whether its holder renews it');
        } else if (Date.now() > watching.until) {
          throw new PipelineLeasedError(pipeline, holder);
        } else {
          watching.pttl = pttl;
        }
        await sleep(Math.max(100, Math.min(1_000, o.ttlMs / 10)));
      } catch (err) {
        if (err instanceof PipelineLeasedError || isRedisAuthError(err)) throw err;
        if (!redisWarned) l.warn({ err: (err as Error).message }, 'pipeline lease: redis not reachable, waiting for it');
        redisWarned = true;
        await sleep(1_000);
      }
    }
  }

  private startRenewing(): void {
    this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(this.o.ttlMs / 3)));
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.released) return;
    try {
      const r = await this.redis.learnLeaseRenew(this.key, this.value, String(this.o.ttlMs));
      if (r === 1) {
        this.confirmedAt = Date.now();
        return;
      }
      if (r === 0) {
        // Lapsed (Redis was away longer than the TTL, or restarted without it): take it again with a new token.
        const [got, value] = await this.redis.learnLeaseAcquire(this.key, this.tokenKey, this.value.slice(this.value.indexOf(' ') + 1), String(this.o.ttlMs));
        if (got > 0) {
          this.value = value;
          this.currentToken = got;
          this.confirmedAt = Date.now();
          this.l.warn({ token: got }, 'pipeline lease had lapsed: taken again with a new fencing token');
          this.o.onToken(got);
          return;
        }
      }
      const holder = parseValue((await this.redis.get(this.key)) ?? '');
      this.stopRenewing();
      this.o.onLost(new PipelineLeasedError(`${this.o.group}/${this.o.topic}`, holder));
    } catch (err) {
      this.l.warn({ err: (err as Error).message }, 'pipeline lease renewal failed (redis away?): retrying');
    }
  }

  private stopRenewing(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Gives the lease up (a clean stop): the next trainer need not wait for the TTL. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.key);
    this.stopRenewing();
    await this.redis.learnLeaseRelease(this.key, this.value).catch((err: unknown) => this.l.warn({ err: (err as Error).message }, 'pipeline lease not released (it lapses after its TTL)'));
  }
}

function defineLeaseScripts(redis: Redis): void {
  if (typeof (redis as Partial<Pick<Redis, 'learnLeaseAcquire'>>).learnLeaseAcquire === 'function') return;
  redis.defineCommand('learnLeaseAcquire', { lua: ACQUIRE_LUA, numberOfKeys: 2 });
  redis.defineCommand('learnLeaseRenew', { lua: RENEW_LUA, numberOfKeys: 1 });
  redis.defineCommand('learnLeaseRelease', { lua: RELEASE_LUA, numberOfKeys: 1 });
}
