import type { Redis } from 'ioredis';
import type { Config } from '../config/load.js';
import { DEFAULTS, redisUrl } from '../config/load.js';
import { log } from '../ops/logger.js';
import { priorsAt } from '../popularity/index.js';
import { StoreKeys } from '../store/keys.js';
import { readPopularity } from '../store/popularity.js';
import { VersionView, seenItems } from '../store/reader.js';
import { connectWithin, createRedisClient, isTransientRedisError } from '../store/redis-client.js';
import { ServeError, parseK } from './errors.js';
import { ItemIndex, type ScoredItem } from './item-index.js';

const l = log('serve.recommender');
/** How far past the wall clock the newest count may set the prior's "now". */
const FUTURE_SLACK_MS = 3_600_000;

export interface Recommendations {
  /** The model version every vector of this answer came from. */
  version: number;
  k: number;
  items: ScoredItem[];
}

export interface RecommenderOptions {
  redisUrl: string;
  prefix?: string;
  /** Minimum time between looks at `current` and the items index (LEARN_SERVE_REFRESH_MS). */
  refreshMs?: number;
  /** Newest seen items per user read for exclusion: the number the store keeps (LEARN_SEEN_MAX). */
  seenKept?: number;
  /** Weight of the popularity prior added to every recommendation score (LEARN_SERVE_PRIOR; 0: inner product alone). */
  prior?: number;
  /** Minimum time between reads of the popularity counts (LEARN_SERVE_POPULARITY_REFRESH_MS). */
  popularityRefreshMs?: number;
}

/**
 * The read path, from Redis only: top-K by inner product over the current version's item vectors, plus (for a user's
 * recommendations) the popularity prior from the store's decayed counts, weighted by `prior`: the operating point the
 * replay evaluates. Each request pins one ItemIndex (one version) and reads only that version's keys.
 */
export class Recommender {
  private readonly keys: StoreKeys;
  private readonly refreshMs: number;
  private readonly seenKept: number;
  private readonly prior: number;
  private readonly popularityRefreshMs: number;
  /** Each counted item's prior, from the last read of the counts. */
  private priors: { byId: ReadonlyMap<string, number>; readAt: number } | undefined;
  private readingPriors: Promise<void> | undefined;
  private index: ItemIndex | undefined;
  private refreshedAt = 0;
  private refreshing: Promise<ItemIndex> | undefined;

  constructor(
    readonly redis: Redis,
    opts: Omit<RecommenderOptions, 'redisUrl'> = {},
  ) {
    this.keys = new StoreKeys(opts.prefix ?? 'learn');
    this.refreshMs = opts.refreshMs ?? DEFAULTS.serveRefreshMs;
    this.seenKept = opts.seenKept ?? DEFAULTS.seenKept;
    this.prior = opts.prior ?? DEFAULTS.servePrior;
    this.popularityRefreshMs = opts.popularityRefreshMs ?? DEFAULTS.servePopularityRefreshMs;
  }

  static async open(opts: RecommenderOptions): Promise<Recommender> {
    const redis = createRedisClient(opts.redisUrl, 'serve', { commandTimeoutMs: 5_000 });
    await connectWithin(redis, 5_000);
    return new Recommender(redis, opts);
  }

  static fromConfig(cfg: Config): Promise<Recommender> {
    return Recommender.open({
      redisUrl: redisUrl(cfg),
      prefix: cfg.redisPrefix,
      refreshMs: cfg.serveRefreshMs,
      seenKept: cfg.seenKept,
      prior: cfg.servePrior,
      popularityRefreshMs: cfg.servePopularityRefreshMs,
    });
  }

  /** Top-k items for a user, excluding what the user interacted with. */
  async recommend(userId: string, kRaw: unknown): Promise<Recommendations> {
    const k = parseK(kRaw);
    return this.guard(async () => {
      const index = await this.currentIndex();
      const [user, seen] = await Promise.all([index.view.userVector(userId), seenItems(this.redis, this.keys, userId, this.seenKept)]);
      if (!user) throw new ServeError('unknown-user', `unknown user "${userId}": no vector in model version ${index.version}`);
      const prior = this.prior > 0 && this.priors ? { weight: this.prior, byId: this.priors.byId } : undefined;
      return { version: index.version, k, items: index.topK(user, k, new Set(seen), prior) };
    });
  }

  /** Top-k items most similar to an item (inner product), the item itself excluded. */
  async similar(itemId: string, kRaw: unknown): Promise<Recommendations> {
    const k = parseK(kRaw);
    return this.guard(async () => {
      const index = await this.currentIndex();
      // An item listed after the last refresh is read directly: cold start must not wait for the index.
      const query = index.vector(itemId) ?? (await index.view.itemVector(itemId));
      if (!query) throw new ServeError('unknown-item', `unknown item "${itemId}": no vector in model version ${index.version}`);
      return { version: index.version, k, items: index.topK(query, k, new Set([itemId])) };
    });
  }

  /** Forces a look at `current` and at changed items now; returns the version served. */
  async refresh(): Promise<number> {
    return (await this.guard(() => this.reload())).version;
  }

  /** Ready to serve: Redis answers and a current version exists. */
  async readiness(): Promise<{ ready: boolean; version?: number; reason?: string }> {
    try {
      const view = await VersionView.current(this.redis, this.keys);
      return view ? { ready: true, version: view.version } : { ready: false, reason: 'no current model version in redis' };
    } catch (err) {
      return { ready: false, reason: `redis unreachable: ${err instanceof Error ? err.message : String(err)}` };
    }
  }

  close(): void {
    this.redis.disconnect();
  }

  private async currentIndex(): Promise<ItemIndex> {
    if (this.index && Date.now() - this.refreshedAt < this.refreshMs) return this.index;
    return this.reload();
  }

  /** One reload at a time: resolve `current`, then refresh the same version's index or build the new one. */
  private reload(): Promise<ItemIndex> {
    this.refreshing ??= (async () => {
      const view = await VersionView.current(this.redis, this.keys);
      if (!view) throw new ServeError('no-model', 'no model version is published in redis yet');
      let index = this.index;
      const fresh = !index || index.version !== view.version;
      if (!index || fresh) index = new ItemIndex(view);
      await Promise.all([index.refresh(), this.refreshPriors()]);
      if (fresh) l.info({ version: view.version, items: index.size }, 'serving model version');
      this.index = index;
      this.refreshedAt = Date.now();
      return index;
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /**
   * Reads the popularity counts when the last read is older than popularityRefreshMs: awaited the first time, in the
   * background after that (a failed background read keeps the last priors). One read at a time.
   */
  private refreshPriors(): Promise<void> {
    if (this.prior === 0 || (this.priors && Date.now() - this.priors.readAt < this.popularityRefreshMs)) return Promise.resolve();
    this.readingPriors ??= (async () => {
      const counts = await readPopularity(this.redis, this.keys);
      let newest = -Infinity;
      for (const c of counts?.counts.values() ?? []) newest = Math.max(newest, c.at);
      // "Now" is the stream's newest count, but never far ahead of the wall clock: one future-stamped interaction
      // must not decay every other item away.
      const now = Math.min(newest, Date.now() + FUTURE_SLACK_MS);
      this.priors = { byId: counts ? priorsAt(counts, now) : new Map(), readAt: Date.now() };
    })().finally(() => {
      this.readingPriors = undefined;
    });
    if (!this.priors) return this.readingPriors;
    this.readingPriors.catch((err: unknown) => l.warn({ err }, 'reading the popularity counts failed: serving the last priors'));
    return Promise.resolve();
  }

  private async guard<R>(f: () => Promise<R>): Promise<R> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof ServeError) throw err;
      if (isTransientRedisError(err)) throw new ServeError('unavailable', `redis unavailable: ${(err as Error).message}`);
      throw err;
    }
  }
}
