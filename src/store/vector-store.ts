import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Config } from '../config/load.js';
import { DEFAULTS, redisUrl } from '../config/load.js';
import { log } from '../ops/logger.js';
import { BackpressureError, StoreError } from './errors.js';
import { StoreKeys, type VectorKind } from './keys.js';
import { kindLabel, storePending, storeRedisUp, vectorFreshness, vectorWrites } from './metrics.js';
import { PendingBuffer, type PendingOp } from './pending-buffer.js';
import { definePopularityScript, HALF_LIFE_MISMATCH, queuePopularity } from './popularity.js';
import { connectWithin, createRedisClient, isTransientRedisError } from './redis-client.js';
import { encodeVector } from '../codec/vector.js';
import { DAY_MS } from '../config/constants.js';
import {
  beginVersion,
  currentVersion,
  defineVersionScripts,
  publishVersion,
  readMeta,
  type NewVersionMeta,
  type VersionMeta,
} from './versions.js';
import { defineWriteScript, deleteItems, queueWrite, WriteCode, type EncodedWrite } from './write-script.js';

const l = log('store');

/** One vector to write. */
export interface VectorWrite {
  id: string;
  /** Time (ms since epoch) of the source event that produced it: for the freshness metric only. */
  eventTime: number;
  /**
   * The write's place in its writer's order (a `WriteOrder`): it applies only over a lower order. Default: `eventTime`,
   * which only a writer whose event times are trusted and increasing may rely on; the trainer always passes its own
   * (issue 11 §2.8: one future-stamped record froze a user's vector under event-time ordering).
   */
  order?: number;
  vector: Float32Array;
}

/** A user interacted with an item: served recommendations exclude it. */
export interface Interaction {
  userId: string;
  itemId: string;
  eventTime: number;
}

export type RejectReason = 'unknown-version' | 'dim-mismatch' | 'fenced' | 'non-finite';

/**
 * What happened to a batch. applied + skipped + rejected.length + pending = the batch size.
 * `pending` writes are held in memory until Redis answers (see `flush`); `skipped` ones were of a lower or
 * equal write order than what is stored (or held); `rejected` ones can never apply.
 */
export interface WriteResult {
  applied: number;
  skipped: number;
  rejected: Array<{ id: string; reason: RejectReason }>;
  pending: number;
}

export interface VectorStoreOptions {
  redisUrl: string;
  /** Key prefix (LEARN_REDIS_PREFIX). */
  prefix?: string;
  /** How long a replaced version stays readable (LEARN_VERSION_GRACE_S). */
  graceSeconds?: number;
  /** Pending buffer limits (LEARN_STORE_MAX_PENDING, LEARN_STORE_MAX_PENDING_BYTES). */
  maxPendingKeys?: number;
  maxPendingBytes?: number;
  /** Fraction of a limit past which `shouldPause()` is true. */
  highWater?: number;
  /** Newest interacted items kept per user (LEARN_SEEN_MAX). */
  seenKept?: number;
  /** Seconds a seen set lives after its last write (LEARN_SEEN_TTL_S). */
  seenTtlSeconds?: number;
  /** Half-life (event-time ms) of the served popularity counts (LEARN_POPULARITY_HALF_LIFE_DAYS). */
  popularityHalfLifeMs?: number;
  /** Popularity counts decayed below this are deleted (LEARN_POPULARITY_PRUNE_BELOW; 0: never). */
  popularityPruneBelow?: number;
  /** Writes per script call; bounds how long one call blocks Redis. */
  scriptBatch?: number;
  /** How long `open` waits for a first connection before returning an unhealthy store. */
  connectWaitMs?: number;
  commandTimeoutMs?: number;
}

export interface VectorStoreEvents {
  /** Redis became reachable (true) or was lost (false). */
  health: [healthy: boolean];
  /** The pending buffer emptied. */
  drained: [];
  /** Writes refused: a trainer with a newer fencing token owns the version (this writer is a zombie: stop it). */
  fenced: [err: StoreError];
  /**
   * Writes into `version` were refused because its meta hash is gone (evicted, flushed, or a Redis restarted without
   * persistence): they will never apply, and the writer must build a new version (issue 23 item 4).
   */
  versionLost: [version: number];
}

const RETRY_MS = 500;

/**
 * The trainer's side of Redis: versioned, ordered, idempotent vector writes that survive Redis outages.
 *
 * Micro-batch loop use: call `writeUserVectors`/`writeItemVectors` per batch; check `shouldPause()` and
 * pause the consumer while it is true; before committing a checkpoint's Kafka offsets call `flush()` so
 * every write of that checkpoint is in Redis (the pending buffer is memory only).
 */
export class VectorStore extends EventEmitter<VectorStoreEvents> {
  readonly keys: StoreKeys;
  private readonly pending: PendingBuffer;
  private readonly graceSeconds: number;
  private readonly seenKept: number;
  private readonly seenTtlSeconds: number;
  private readonly popularityHalfLifeMs: number;
  private readonly popularityPruneBelow: number;
  private readonly scriptBatch: number;
  private isHealthy = false;
  private draining: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** A batch was refused as the buffer had no room for it (see shouldPause). */
  private refusedBatch = false;
  /** The writer's fencing token (its trainer's pipeline lease; 0: unfenced), carried by every vector write and switch. */
  private fence = 0;

  private constructor(
    readonly redis: Redis,
    opts: VectorStoreOptions,
  ) {
    super();
    this.keys = new StoreKeys(opts.prefix ?? 'learn');
    this.graceSeconds = opts.graceSeconds ?? DEFAULTS.versionGraceS;
    this.seenKept = opts.seenKept ?? DEFAULTS.seenKept;
    this.seenTtlSeconds = opts.seenTtlSeconds ?? DEFAULTS.seenTtlS;
    this.popularityHalfLifeMs = opts.popularityHalfLifeMs ?? DEFAULTS.popularityHalfLifeDays * DAY_MS;
    this.popularityPruneBelow = opts.popularityPruneBelow ?? DEFAULTS.popularityPruneBelow;
    this.scriptBatch = opts.scriptBatch ?? 256;
    this.pending = new PendingBuffer({
      maxKeys: opts.maxPendingKeys ?? DEFAULTS.storeMaxPending,
      maxBytes: opts.maxPendingBytes ?? DEFAULTS.storeMaxPendingBytes,
      highWater: opts.highWater ?? 0.8,
    });
    defineWriteScript(redis);
    defineVersionScripts(redis);
    definePopularityScript(redis);
    redis.on('ready', () => this.setHealthy(true));
    redis.on('close', () => this.setHealthy(false));
    redis.on('end', () => this.setHealthy(false));
  }

  /** Connects (waiting up to `connectWaitMs`); an unreachable Redis gives an unhealthy store that buffers. */
  static async open(opts: VectorStoreOptions): Promise<VectorStore> {
    const redis = createRedisClient(opts.redisUrl, 'store', { commandTimeoutMs: opts.commandTimeoutMs ?? 10_000 });
    const store = new VectorStore(redis, opts);
    if (!(await connectWithin(redis, opts.connectWaitMs ?? 5_000))) l.warn('redis not reachable yet: writes are buffered until it is');
    return store;
  }

  static fromConfig(cfg: Config, overrides: Partial<VectorStoreOptions> = {}): Promise<VectorStore> {
    return VectorStore.open({
      redisUrl: redisUrl(cfg),
      prefix: cfg.redisPrefix,
      graceSeconds: cfg.versionGraceS,
      maxPendingKeys: cfg.storeMaxPending,
      maxPendingBytes: cfg.storeMaxPendingBytes,
      seenKept: cfg.seenKept,
      seenTtlSeconds: cfg.seenTtlS,
      popularityHalfLifeMs: cfg.popularityHalfLifeDays * DAY_MS,
      popularityPruneBelow: cfg.popularityPruneBelow,
      ...overrides,
    });
  }

  /** Sets the fencing token every later write carries (issue 23 §2). */
  setFence(token: number): void {
    this.fence = token;
  }

  healthy(): boolean {
    return this.isHealthy;
  }

  pendingCount(): number {
    return this.pending.size;
  }

  /**
   * True while the pending buffer is past its high-water mark, or has refused a batch since Redis was last up with
   * nothing held: the consumer feeding writes should pause. A refused batch counts on its own because a batch larger
   * than the room left below the mark (a window grown while a step ran) is refused whole, and the mark is then
   * never reached.
   */
  shouldPause(): boolean {
    if (this.refusedBatch && this.isHealthy && this.pending.size === 0) this.refusedBatch = false;
    return this.refusedBatch || this.pending.overHighWater();
  }

  writeUserVectors(version: number, writes: readonly VectorWrite[]): Promise<WriteResult> {
    return this.writeVectors(version, 'u', writes);
  }

  writeItemVectors(version: number, writes: readonly VectorWrite[]): Promise<WriteResult> {
    return this.writeVectors(version, 'i', writes);
  }

  /**
   * Removes delisted items from a version (their vectors and, through a new revision, readers' indexes), unless
   * a newer write is there. Not buffered: it throws while Redis is away and the caller tries again.
   */
  async deleteItemVectors(version: number, ids: readonly string[], order: number): Promise<number> {
    if (!Number.isInteger(version) || version < 1) throw new StoreError('unknown-version', `bad version ${version}`);
    checkOrder(order, 'item delete: order');
    let deleted = 0;
    for (let at = 0; at < ids.length; at += this.scriptBatch) {
      const n = await deleteItems(this.redis, this.keys, version, ids.slice(at, at + this.scriptBatch), order, this.fence);
      if (n < 0) throw this.fenced(version);
      deleted += n;
    }
    return deleted;
  }

  /** Adds interactions to the users' seen sets (bounded to the newest `seenKept` items per user). */
  async recordInteractions(interactions: readonly Interaction[]): Promise<WriteResult> {
    for (const x of interactions) checkOrder(x.eventTime, `interaction ${x.userId}/${x.itemId}: eventTime`);
    const ops: PendingOp[] = interactions.map((x) => ({ type: 'seen', ...x }));
    return this.submit(ops);
  }

  /** Starts a version in state `building` and returns its id (an INCR counter, so ids only grow). */
  beginVersion(meta: NewVersionMeta): Promise<number> {
    return beginVersion(this.redis, this.keys, meta, this.fence);
  }

  /**
   * Waits until every pending write of `version` is in Redis, then switches readers to it atomically and
   * gives older versions a TTL of the grace period. Returns the version it replaced.
   */
  async publishVersion(version: number, opts: { flushTimeoutMs?: number } = {}): Promise<number | undefined> {
    await this.flush(opts.flushTimeoutMs ?? 30_000);
    try {
      return await publishVersion(this.redis, this.keys, version, this.graceSeconds, this.fence);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'fenced') this.emit('fenced', err);
      throw err;
    }
  }

  currentVersion(): Promise<number | undefined> {
    return currentVersion(this.redis, this.keys);
  }

  versionMeta(version: number): Promise<VersionMeta | undefined> {
    return readMeta(this.redis, this.keys, version);
  }

  /** Redis' maxmemory-policy, or undefined where CONFIG is not allowed (some managed services). */
  async evictionPolicy(): Promise<string | undefined> {
    try {
      const reply = (await this.redis.config('GET', 'maxmemory-policy')) as unknown;
      return Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : undefined;
    } catch {
      return undefined;
    }
  }

  /** Resolves once the pending buffer is empty; rejects after `timeoutMs` with the count still pending. */
  async flush(timeoutMs = 30_000): Promise<void> {
    if (this.pending.size === 0) return;
    void this.drain();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('drained', onDrained);
        reject(new StoreError('redis', `flush: ${this.pending.size} writes still pending after ${timeoutMs} ms (redis ${this.isHealthy ? 'up' : 'unreachable'})`));
      }, timeoutMs);
      const onDrained = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.once('drained', onDrained);
    });
  }

  /** Closes the connection; pending writes are dropped with a warning (call `flush` first). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    if (this.pending.size > 0) l.warn({ pending: this.pending.size }, 'closing with pending writes: they are lost');
    this.redis.disconnect();
  }

  private async writeVectors(version: number, kind: VectorKind, writes: readonly VectorWrite[]): Promise<WriteResult> {
    if (!Number.isInteger(version) || version < 1) throw new StoreError('unknown-version', `bad version ${version}`);
    // A NaN or Inf never reaches a reader (issue 23 item 8): such a vector is refused here and the stored one stays.
    const nonFinite = writes.filter((w) => !w.vector.every(Number.isFinite));
    const ops: PendingOp[] = writes.filter((w) => !nonFinite.includes(w)).map((w) => {
      checkOrder(w.eventTime, `${kindLabel(kind)} ${w.id}: eventTime`);
      const order = w.order ?? w.eventTime;
      checkOrder(order, `${kindLabel(kind)} ${w.id}: order`);
      return { type: 'vector', version, kind, id: w.id, eventTime: w.eventTime, order, bytes: encodeVector(w.vector) };
    });
    const result = await this.submit(ops);
    if (nonFinite.length > 0) {
      vectorWrites.inc({ kind: kindLabel(kind), outcome: 'non-finite' }, nonFinite.length);
      l.error({ kind: kindLabel(kind), count: nonFinite.length, ids: nonFinite.slice(0, 5).map((w) => w.id) }, 'non-finite vectors refused: the stored ones stay');
      for (const w of nonFinite) result.rejected.push({ id: w.id, reason: 'non-finite' });
    }
    return result;
  }

  /** Sends `ops` now when Redis is up; holds what could not be sent (all or nothing if the buffer is full). */
  private async submit(ops: PendingOp[]): Promise<WriteResult> {
    const result: WriteResult = { applied: 0, skipped: 0, rejected: [], pending: 0 };
    let unsent = ops;
    if (this.isHealthy) {
      const sent = await this.send(ops, result);
      unsent = sent.failed;
      if (unsent.length > 0) this.scheduleRetry();
    }
    if (unsent.length === 0) return result;
    if (!this.pending.fits(unsent)) {
      this.refusedBatch = true;
      throw new BackpressureError(this.pending.size, this.pending.limits.maxKeys);
    }
    for (const op of unsent) {
      if (this.pending.offer(op) === 'held') result.pending++;
      else result.skipped++;
    }
    storePending.set(this.pending.size);
    return result;
  }

  /**
   * Runs the ops against Redis: one script call per (version, kind) chunk and one ZADD per user, in one
   * pipeline. Ops of calls that failed transiently come back in `failed`; anything else throws.
   */
  private async send(ops: readonly PendingOp[], result: WriteResult): Promise<{ failed: PendingOp[] }> {
    const pipeline = this.redis.pipeline();
    const calls: Array<{ ops: PendingOp[]; commands: number; settle: (replies: unknown[]) => void }> = [];
    for (const [group, groupOps] of groupVectorOps(ops)) {
      for (let at = 0; at < groupOps.length; at += this.scriptBatch) {
        const chunk = groupOps.slice(at, at + this.scriptBatch);
        const writes: EncodedWrite[] = chunk.map((o) => ({ id: o.id, order: o.order, bytes: o.bytes }));
        queueWrite(pipeline, this.keys, group.version, group.kind, writes, this.fence);
        calls.push({ ops: chunk, commands: 1, settle: (replies) => this.countWrites(group.kind, chunk, replies[0], result) });
      }
    }
    // An interaction its user's seen set does not hold at the same or a later time (ZADD GT CH answers 1) is counted into
    // the served popularity: a re-sent one counts nothing, a later repeat counts again.
    // The seen time is capped at the writer's clock (issue 23 item 9): a future-stamped event must not hold the entry
    // above every later real one, which would then never count. A re-sent event of the past keeps its time (counted
    // once); only a re-sent future-stamped one can count again.
    const counted: SeenOp[] = [];
    const now = Date.now();
    for (const [userId, seenOps] of groupSeenOps(ops)) {
      const key = this.keys.seen(userId);
      for (const o of seenOps) pipeline.zadd(key, 'GT', 'CH', String(Math.min(o.eventTime, now)), o.itemId);
      pipeline.zremrangebyrank(key, 0, -(this.seenKept + 1)).expire(key, this.seenTtlSeconds);
      calls.push({
        ops: seenOps,
        commands: seenOps.length + 2,
        settle: (replies) => {
          result.applied += seenOps.length;
          seenOps.forEach((o, j) => replies[j] === 1 && counted.push(o));
        },
      });
    }
    let replies: Array<[Error | null, unknown]>;
    try {
      replies = (await pipeline.exec()) ?? [];
    } catch (err) {
      if (!isTransientRedisError(err)) throw err;
      return { failed: [...ops] };
    }
    const failed: PendingOp[] = [];
    let at = 0;
    for (const call of calls) {
      const mine = replies.slice(at, at + call.commands);
      at += call.commands;
      const err = mine.find(([e]) => e !== null)?.[0] ?? (mine.length < call.commands ? new Error('no reply') : null);
      if (err === null) call.settle(mine.map(([, r]) => r));
      else if (isTransientRedisError(err)) failed.push(...call.ops);
      else throw new StoreError('redis', `vector write failed: ${err.message}`);
    }
    if (counted.length > 0) await this.countPopularity(counted);
    return { failed };
  }

  /**
   * Adds newly seen interactions to the served popularity counts. Their seen-set entries are already written, so a
   * failure here leaves them uncounted: the prior is a smoothed, best-effort signal, so it is logged and never fails
   * the writer (and never counts twice).
   */
  private async countPopularity(counted: readonly SeenOp[]): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (let at = 0; at < counted.length; at += this.scriptBatch) queuePopularity(pipeline, this.keys, this.popularityHalfLifeMs, this.popularityPruneBelow, counted.slice(at, at + this.scriptBatch));
    try {
      const replies = (await pipeline.exec()) ?? [];
      const err = replies.find(([e]) => e !== null)?.[0];
      if (err) throw err;
      if (replies.some(([, r]) => r === HALF_LIFE_MISMATCH)) {
        l.error({ halfLifeMs: this.popularityHalfLifeMs, key: this.keys.popularityHalfLife() }, 'popularity counts in redis were made with another half-life: not counted (set LEARN_POPULARITY_HALF_LIFE_DAYS back, or delete both keys to start afresh)');
      }
    } catch (err) {
      l.warn({ err, interactions: counted.length }, 'counting popularity failed: these interactions stay uncounted');
    }
  }

  private countWrites(kind: VectorKind, ops: readonly VectorOp[], reply: unknown, result: WriteResult): void {
    const codes = Array.isArray(reply) ? (reply as number[]) : [];
    const now = Date.now();
    const label = kindLabel(kind);
    let lost = false;
    ops.forEach((op, j) => {
      const code = codes[j];
      if (code === WriteCode.applied) {
        result.applied++;
        vectorFreshness.observe({ kind: label }, Math.max(0, now - op.eventTime) / 1000);
        vectorWrites.inc({ kind: label, outcome: 'applied' });
      } else if (code === WriteCode.stale) {
        result.skipped++;
        vectorWrites.inc({ kind: label, outcome: 'stale' });
      } else {
        const reason: RejectReason = code === WriteCode.dimMismatch ? 'dim-mismatch' : code === WriteCode.fenced ? 'fenced' : 'unknown-version';
        result.rejected.push({ id: op.id, reason });
        vectorWrites.inc({ kind: label, outcome: 'rejected' });
        lost ||= reason === 'unknown-version';
      }
    });
    const version = ops[0]?.version;
    if (lost && version !== undefined) this.emit('versionLost', version);
    if (codes.includes(WriteCode.fenced)) this.fenced(version ?? 0);
  }

  /** Tells the owner its writes are fenced off (once per refusal), and gives the error to throw. */
  private fenced(version: number): StoreError {
    const err = new StoreError('fenced', `writes to version ${version} refused: a trainer with a newer fencing token than ${this.fence} took over`);
    l.error({ version, fence: this.fence }, err.message);
    this.emit('fenced', err);
    return err;
  }

  private setHealthy(up: boolean): void {
    if (this.isHealthy === up) return;
    this.isHealthy = up;
    storeRedisUp.set(up ? 1 : 0);
    l.info({ healthy: up, pending: this.pending.size }, up ? 'redis reachable' : 'redis unreachable: buffering writes');
    this.emit('health', up);
    if (up) void this.drain();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.drain();
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  /** Sends held writes in rounds while Redis is up; one drain at a time. */
  private drain(): Promise<void> {
    // `.finally` runs in a later microtask, so `draining` is always cleared after it was set.
    this.draining ??= this.drainRounds().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  /** Stops at the first failed round and retries later; rejected writes are logged and counted, then dropped. */
  private async drainRounds(): Promise<void> {
    try {
      while (this.isHealthy && !this.closed && this.pending.size > 0) {
        const batch = this.pending.peek(this.scriptBatch * 8);
        const round: WriteResult = { applied: 0, skipped: 0, rejected: [], pending: 0 };
        const { failed } = await this.send(batch, round);
        const failedSet = new Set(failed);
        for (const op of batch) if (!failedSet.has(op)) this.pending.settle(op);
        storePending.set(this.pending.size);
        if (round.rejected.length > 0) l.error({ rejected: round.rejected.slice(0, 10), count: round.rejected.length }, 'held writes rejected by redis');
        if (failed.length > 0) {
          this.scheduleRetry();
          break;
        }
      }
    } catch (err) {
      l.error({ err }, 'draining pending writes failed');
      this.scheduleRetry();
    }
    if (this.pending.size === 0) this.emit('drained');
  }
}

type VectorOp = Extract<PendingOp, { type: 'vector' }>;
type SeenOp = Extract<PendingOp, { type: 'seen' }>;

function groupVectorOps(ops: readonly PendingOp[]): Map<{ version: number; kind: VectorKind }, VectorOp[]> {
  const byName = new Map<string, { group: { version: number; kind: VectorKind }; ops: VectorOp[] }>();
  for (const op of ops) {
    if (op.type !== 'vector') continue;
    const name = `${op.version}:${op.kind}`;
    let g = byName.get(name);
    if (!g) byName.set(name, (g = { group: { version: op.version, kind: op.kind }, ops: [] }));
    g.ops.push(op);
  }
  return new Map([...byName.values()].map((g) => [g.group, g.ops]));
}

function groupSeenOps(ops: readonly PendingOp[]): Map<string, SeenOp[]> {
  const byUser = new Map<string, SeenOp[]>();
  for (const op of ops) {
    if (op.type !== 'seen') continue;
    const list = byUser.get(op.userId) ?? [];
    list.push(op);
    byUser.set(op.userId, list);
  }
  return byUser;
}

function checkOrder(t: number, what: string): void {
  if (!Number.isSafeInteger(t) || t < 0) throw new StoreError('bad-vector', `${what} must be a non-negative integer (ms since the epoch), got ${t}`);
}
