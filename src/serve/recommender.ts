import type { Redis } from 'ioredis';
import type { Config } from '../config/load.js';
import { DEFAULTS, redisUrl } from '../config/load.js';
import { log } from '../ops/logger.js';
import { priorsAt } from '../popularity/index.js';
import { StoreKeys } from '../store/keys.js';
import { PopularityReader } from '../store/popularity.js';
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
  /**
   * Where the ranking came from: `model` (vectors, plus the prior), or `popularity` (a user without a vector: the most
   * popular items by the prior alone, scores being the prior). Answered with 200 either way, so a caller cannot tell
   * which user ids exist from the status.
   */
  source: 'model' | 'popularity';
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
  /** The store's pruning threshold, applied to the copy read here too (LEARN_POPULARITY_PRUNE_BELOW). */
  popularityPruneBelow?: number;
  /** From this many items on, candidates come from an HNSW index and are re-ranked exactly (LEARN_SERVE_ANN_MIN_ITEMS; 0: never). */
  annMinItems?: number;
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
  private priors: { byId: ReadonlyMap<string, number>; ranked: readonly string[]; readAt: number } | undefined;
  private readingPriors: Promise<void> | undefined;
  private index: ItemIndex | undefined;
  private refreshedAt = 0;
  private refreshing: Promise<ItemIndex> | undefined;
  /** The index of a newly current version, being built while the old one answers. */
  private building: { version: number; index: ItemIndex; promise: Promise<ItemIndex> } | undefined;
  private readonly annMinItems: number;
  private readonly popularity: PopularityReader;

  constructor(
    readonly redis: Redis,
    opts: Omit<RecommenderOptions, 'redisUrl'> = {},
  ) {
    this.keys = new StoreKeys(opts.prefix ?? 'learn');
    this.refreshMs = opts.refreshMs ?? DEFAULTS.serveRefreshMs;
    this.seenKept = opts.seenKept ?? DEFAULTS.seenKept;
    this.prior = opts.prior ?? DEFAULTS.servePrior;
    this.popularityRefreshMs = opts.popularityRefreshMs ?? DEFAULTS.servePopularityRefreshMs;
    this.annMinItems = opts.annMinItems ?? DEFAULTS.serveAnnMinItems;
    this.popularity = new PopularityReader(redis, this.keys, opts.popularityPruneBelow ?? DEFAULTS.popularityPruneBelow);
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
      annMinItems: cfg.serveAnnMinItems,
      popularityPruneBelow: cfg.popularityPruneBelow,
    });
  }

  /** Top-k items for a user, excluding what the user interacted with. */
  async recommend(userId: string, kRaw: unknown): Promise<Recommendations> {
    const k = parseK(kRaw);
    return this.guard(async () => {
      const index = await this.currentIndex();
      const [user, seen] = await Promise.all([index.view.userVector(userId), seenItems(this.redis, this.keys, userId, this.seenKept)]);
      if (!user) return { version: index.version, k, items: this.popular(index, k, new Set(seen)), source: 'popularity' };
      const prior = this.prior > 0 && this.priors ? { weight: this.prior, byId: this.priors.byId, ranked: this.priors.ranked } : undefined;
      return { version: index.version, k, items: index.topK(user, k, new Set(seen), prior), source: 'model' };
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
      return { version: index.version, k, items: index.topK(query, k, new Set([itemId])), source: 'model' };
    });
  }

  /** Forces a look at `current` and at changed items now, waiting for a new version's index; returns the version served. */
  async refresh(): Promise<number> {
    return (await this.guard(() => this.reload(true))).version;
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

  /** Disconnects Redis and closes the served and the building index (their graph builds abandoned). */
  close(): void {
    this.index?.close();
    this.building?.index.close();
    this.redis.disconnect();
  }

  /** The k most popular items the index serves, not in `exclude`, scored by their prior. */
  private popular(index: ItemIndex, k: number, exclude: ReadonlySet<string>): ScoredItem[] {
    const out: ScoredItem[] = [];
    for (const itemId of this.priors?.ranked ?? []) {
      if (out.length >= k) break;
      if (!exclude.has(itemId) && index.has(itemId)) out.push({ itemId, score: this.priors?.byId.get(itemId) ?? 0 });
    }
    return out;
  }

  /**
   * The index to answer with. Only the very first request waits for a whole index; a stale one is brought up to date
   * in place (the items changed since: a round trip or two), while a version switch builds the new version's index
   * (and its HNSW graph) in the background and requests go on with the old one until it is ready: a whole index is
   * never built inside a request.
   */
  private async currentIndex(): Promise<ItemIndex> {
    if (this.index && Date.now() - this.refreshedAt < this.refreshMs) return this.index;
    return this.reload(!this.index);
  }

  /** One reload at a time: resolve `current`, then refresh the same version's index or start building the new one. */
  private async reload(waitForSwitch: boolean): Promise<ItemIndex> {
    this.refreshing ??= (async () => {
      const view = await VersionView.current(this.redis, this.keys);
      if (!view) throw new ServeError('no-model', 'no model version is published in redis yet');
      const index = this.index;
      if (index?.version === view.version) {
        await Promise.all([index.refresh(this.annMinItems), this.refreshPriors()]);
        this.refreshedAt = Date.now();
        return index;
      }
      const next = this.switchTo(view);
      if (index) return index;
      return next;
    })().finally(() => {
      this.refreshing = undefined;
    });
    const index = await this.refreshing;
    if (waitForSwitch && this.building) return this.building.promise;
    return index;
  }

  /** Builds the index of a new version in the background and serves it once it is complete (one build per version). */
  private switchTo(view: VersionView): Promise<ItemIndex> {
    if (this.building?.version === view.version) return this.building.promise;
    // A superseded build is never served: its graph build is abandoned rather than left to finish.
    this.building?.index.close();
    const started = Date.now();
    const index = new ItemIndex(view);
    const promise = (async () => {
      await Promise.all([index.refresh(this.annMinItems, true), this.refreshPriors()]);
      // A newer switch may have started meanwhile: only the build still wanted is served.
      if (this.building?.version === view.version) {
        // Requests holding the old index still answer from it; only a graph build of its own is abandoned.
        this.index?.close();
        this.index = index;
        this.refreshedAt = Date.now();
        l.info({ version: view.version, items: index.size, approximate: index.approximate, ms: Date.now() - started }, 'serving model version');
      }
      return index;
    })().finally(() => {
      if (this.building?.version === view.version) this.building = undefined;
    });
    this.building = { version: view.version, index, promise };
    // A failed build is retried by the next reload; the old index keeps answering.
    promise.catch((err: unknown) => l.warn({ err, version: view.version }, 'building the index of a new model version failed'));
    return promise;
  }

  /**
   * Reads the popularity counts when the last read is older than popularityRefreshMs: awaited the first time, in the
   * background after that (a failed background read keeps the last priors). One read at a time.
   */
  private refreshPriors(): Promise<void> {
    // Read even with prior 0: users without a vector get the most popular items.
    if (this.priors && Date.now() - this.priors.readAt < this.popularityRefreshMs) return Promise.resolve();
    this.readingPriors ??= (async () => {
      const { counts } = await this.popularity.read();
      let newest = -Infinity;
      for (const c of counts?.counts.values() ?? []) newest = Math.max(newest, c.at);
      // "Now" is the stream's newest count, but never far ahead of the wall clock: one future-stamped interaction
      // must not decay every other item away.
      const now = Math.min(newest, Date.now() + FUTURE_SLACK_MS);
      const byId = counts ? priorsAt(counts, now) : new Map<string, number>();
      const ranked = [...byId.keys()].sort((a, b) => (byId.get(b) ?? 0) - (byId.get(a) ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
      this.priors = { byId, ranked, readAt: Date.now() };
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
