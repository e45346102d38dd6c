import type { Config } from '../config/load.js';
import { addReadinessCheck, type CheckResult } from '../ops/health.js';
import { log } from '../ops/logger.js';
import { BackpressureError, StoreError, VectorStore, type Interaction, type VectorWrite, type WriteResult } from '../store/index.js';
import { isRedisAuthError } from '../store/redis-client.js';
import { WriteOrder } from '../store/write-order.js';
import { ItemRefreshRound } from './item-refresh.js';
import { itemRefreshSeconds, itemVectorsRefreshed, versionsLost } from './metrics.js';
import type { ItemRef } from '../model/index.js';
import type { TrainedWindow, Trainer, TrainerPublisher } from './trainer.js';

const CHUNK = 512;
/**
 * Users per forward pass when publishing vectors, with the event loop free between passes: a pass costs about 0.5-1 ms
 * per user at full histories on 2 cores, so a version build's 500 users in one pass held the loop for about 0.5 s.
 */
const PASS_USERS = 32;
/** Backoff between tries to reach Redis at start, and between version builds that failed (doubling). */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 30_000;
/** How often the current version's meta is looked for in Redis (an eviction or a flush while no write happens). */
const VERSION_CHECK_MS = 5_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Puts the trainer's vectors in Redis. After each micro-batch the touched users' vectors are written under the
 * current version; a new item's vector is written as soon as its content arrives (cold start, before any click);
 * every N steps or T ms a whole new version is built and switched to, since every step moves every vector.
 * Consumption pauses while Redis writes back up; checkpoints (and so offset commits) wait until pending writes are
 * flushed.
 *
 * A switch never makes a servable user or item unservable: a version holds every item of the content table and
 * every user the trainer keeps a history of (LEARN_MAX_USERS), and while it is being built every user and item
 * write goes to both the current and the new version. Items are written when the build begins; users
 * LEARN_VERSION_USERS per trained window (so a build does not stall training); the switch comes after the last.
 */
export class VectorPublisher implements TrainerPublisher {
  private version: number | undefined;
  private versionStep = 0;
  private versionAt = Date.now();
  /** A due build that failed (Redis away) is tried again only after this time, with a doubling backoff. */
  private buildRetryAt = 0;
  private buildBackoffMs = RETRY_FIRST_MS;
  /** The version being built, and the users (known when it began) still to write into it. */
  private building: { version: number; users: string[]; next: number; started: number } | undefined;
  private readonly newItems = new Set<string>();
  /** Keeps item vectors within LEARN_ITEM_REFRESH_STEPS steps of the weights that write user vectors (issue 23 item 7). */
  private readonly itemRefresh: ItemRefreshRound;
  /** The model's step when the item refresh last counted steps. */
  private refreshStep = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /**
   * Writes the store's full buffer refused (Redis away, and the windows already fetched before consumption paused
   * still train): users whose vector is written later from the current weights and their history's last event
   * time, and their interactions. Bounded by what one paused fetch holds; checkpoints wait until they are written.
   */
  private readonly deferredUsers = new Set<string>();
  private deferredInteractions: Interaction[] = [];
  private flushSoon: NodeJS.Immediate | undefined;
  /** Set by `stop`: no new item flush is scheduled after it. */
  private stopping = false;
  /** The deferred writes in flight (`writeDeferred`). */
  private deferring: Promise<void> | undefined;
  /**
   * The step's writes in flight, one after another (a trained window's users, the item refresh, a version build or
   * rebuild): a checkpoint waits for them.
   */
  private windowWrites: Promise<void> = Promise.resolve();
  /**
   * The interactions and the arrivals' user vectors, in the order consumed: a lane of their own, so that a new event's
   * vector never waits behind a step's writes or a build (issue 25 goal 3). A checkpoint waits for them too.
   */
  private arrivalWrites: Promise<void> = Promise.resolve();
  /**
   * Users with new events whose vectors are not written yet, and the cut windows' interactions not recorded yet: taken
   * together by the arrival lane's next turn, so that a lane that falls behind writes one batch, not one per chunk,
   * and no vector is computed from events whose interactions are still to come.
   */
  private readonly arrivedUsers = new Set<string>();
  private cutInteractions: Interaction[] = [];
  private arrivalQueued = false;
  /**
   * Orders every vector write of this trainer (issue 11 §2.8): a newer computation always wins in Redis and a re-sent
   * older one never does, whatever the event times behind them (a future-stamped event, late events).
   */
  private readonly order = new WriteOrder();
  /** The last version published: how long its build took (begin to switch) and what it held. */
  lastBuild: { version: number; ms: number; items: number; users: number } | undefined;
  /**
   * The current version, when Redis lost its meta hash (eviction, FLUSHALL, a restart without persistence): every
   * write into it is refused, so a new one is built from the current weights at once (issue 23 item 4).
   */
  private lost: number | undefined;
  private lastVersionCheck = Date.now();
  /** The highest version this publisher began: a Redis that lost its counter must not hand out a lower id. */
  private lastBegun = 0;
  private removeReadiness: (() => void) | undefined;
  private readonly l = log('trainer.publisher');

  /** The trainer it publishes, from `start` on. */
  private source: Trainer | undefined;

  private constructor(
    private readonly cfg: Config,
    readonly store: VectorStore,
    private readonly onFailure: ((err: Error) => void) | undefined,
  ) {
    this.itemRefresh = new ItemRefreshRound(cfg.itemRefreshSteps);
  }

  /**
   * A publisher with its store open (Redis away is waited for by `start`), to be given to the trainer's constructor,
   * which starts it once its model is prepared. A write that fails for a reason other than backpressure is reported
   * to `onFailure` (default: the trainer fails; the role stops and a restart resumes from the last checkpoint, whose
   * offsets it never passed).
   */
  static async open(cfg: Config, opts: { store?: VectorStore; onFailure?: (err: Error) => void } = {}): Promise<VectorPublisher> {
    return new VectorPublisher(cfg, opts.store ?? (await VectorStore.fromConfig(cfg)), opts.onFailure);
  }

  private get trainer(): Trainer {
    if (!this.source) throw new Error('the vector publisher is not started (the trainer starts it in prepare)');
    return this.source;
  }

  /** A failed write must stop the trainer before its next checkpoint commits past the window. */
  private fail(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.onFailure) this.onFailure(e);
    else this.trainer.fail(e);
  }

  /**
   * Called by the trainer's `prepare`, with the model ready and nothing consumed yet: makes sure a version of the
   * model's dimension is current (building the first one), and follows the trainer's windows and content.
   */
  async start(trainer: Trainer): Promise<void> {
    if (this.source) throw new Error('the vector publisher is started already');
    this.source = trainer;
    // Redis away at start must not crash the role (a restart would only crash again): wait for it, backing off.
    for (let backoff = RETRY_FIRST_MS; ; backoff = Math.min(2 * backoff, RETRY_MAX_MS)) {
      try {
        await this.resolveVersion();
        break;
      } catch (err) {
        if (isRedisAuthError(err)) throw err;
        this.l.warn({ err: (err as Error).message, retryMs: backoff }, 'vector version not known yet (redis unreachable?): waiting for redis before consuming');
        await sleep(backoff);
      }
    }
    void this.warnOnEviction();
    // Catches items that arrived while a flush was running.
    this.timer = setInterval(() => {
      void this.flushNewItems();
      void this.writeDeferred().catch((err: unknown) => this.l.warn({ err: (err as Error).message }, 'deferred vector writes failed'));
      if (this.lost !== undefined || Date.now() - this.lastVersionCheck >= VERSION_CHECK_MS) this.checkVersionSoon();
    }, 200);
    this.store.on('versionLost', (version) => this.versionLost(version));
    // A Redis that restarted may have come back empty (no persistence, or an older AOF): look at once.
    this.store.on('health', (up) => up && this.checkVersionSoon());
    this.removeReadiness = addReadinessCheck('vector-version', () => this.versionReadiness());
    trainer.on('windowReady', (w) => this.recordCut(w));
    trainer.on('windowTrained', (w) => {
      this.windowWrites = this.windowWrites.then(() => this.afterTrain(w)).catch((err: unknown) => this.fail(err));
    });
    // Issue 13 goal 5: a user's vector follows each event, not each window (a chunk's users together, PASS_USERS a pass).
    trainer.on('eventsArrived', (users) => {
      for (const u of users) this.arrivedUsers.add(u);
      this.queueArrivals();
    });
    // A new, changed or (tombstone) removed item content vector.
    trainer.on('contentArrived', (itemId) => {
      this.newItems.add(itemId);
      this.flushItemsSoon();
    });
  }

  /** One turn of the arrival lane for whatever has arrived by the time it runs (see `arrivedUsers`). */
  private queueArrivals(): void {
    if (this.arrivalQueued) return;
    this.arrivalQueued = true;
    this.arrivalWrites = this.arrivalWrites
      .then(() => {
        this.arrivalQueued = false;
        const users = [...this.arrivedUsers];
        this.arrivedUsers.clear();
        return this.writeArrivals(users);
      })
      .catch((err: unknown) => this.fail(err));
  }

  /** The trainer's backpressure: consumption pauses while the store's buffer is full. */
  shouldPause(): boolean {
    return this.store.shouldPause();
  }

  /** Writes into the current version if it suits the model, else builds a first one. */
  private async resolveVersion(): Promise<void> {
    const current = await this.store.currentVersion();
    const meta = current === undefined ? undefined : await this.store.versionMeta(current);
    const model = this.trainer.model;
    // Continue above what is there: a restart on a host whose clock is behind must not have its writes refused.
    if (meta) this.order.atLeast(meta.order);
    if (current !== undefined) this.lastBegun = current;
    if (meta && meta.dim === model.config.outDim && meta.config === JSON.stringify(model.config)) {
      this.version = current;
      this.versionStep = model.step;
      // Its items may be from other weights (an earlier run's): the first round re-publishes every one.
      this.refreshStep = model.step;
      this.l.info({ version: current }, 'writing into the current vector version');
    } else {
      await this.buildVersion();
    }
  }

  get currentVersion(): number | undefined {
    return this.version;
  }

  /** Not ready while the current version is lost from Redis and not rebuilt yet (serving answers 503 meanwhile). */
  private versionReadiness(): CheckResult {
    if (this.lost === undefined) return { ok: true, detail: { version: this.version } };
    return { ok: false, detail: `vector version ${this.lost} lost from redis (evicted or flushed): rebuilding it` };
  }

  /**
   * An evicting Redis drops vectors, seen sets and version metas of its own choosing: served answers go wrong or 503
   * until the next rebuild. Said once at start; the deploy files set noeviction (docs/operations.md, "Redis").
   */
  private async warnOnEviction(): Promise<void> {
    const policy = await this.store.evictionPolicy();
    if (policy === undefined) this.l.info('redis maxmemory-policy not readable (CONFIG refused): it must be noeviction (docs/operations.md)');
    else if (policy !== 'noeviction') this.l.error({ policy }, 'redis evicts keys (maxmemory-policy is not noeviction): vectors and seen sets can vanish; set maxmemory-policy noeviction (docs/operations.md)');
  }

  /** The store refused writes into `version` as unknown: its meta hash is gone from Redis. */
  private versionLost(version: number): void {
    if (this.building?.version === version) this.abandonBuild(new Error(`version ${version} lost from redis`));
    if (version !== this.version || this.lost === version) return;
    this.lost = version;
    versionsLost.inc();
    this.l.error({ version }, 'the current vector version is gone from redis (evicted, flushed or restarted empty: see docs/operations.md, maxmemory-policy noeviction with AOF): rebuilding it');
    this.checkVersionSoon();
  }

  /** Queues a check of the current version behind the window writes (so it never runs beside a build). */
  private checkVersionSoon(): void {
    this.lastVersionCheck = Date.now();
    this.windowWrites = this.windowWrites.then(() => this.checkVersion());
  }

  /**
   * Rebuilds a lost current version (every item and user, current weights) and re-announces one that readers no longer
   * find as current. Never throws: Redis away leaves it for the next check, backing off.
   */
  private async checkVersion(): Promise<void> {
    const version = this.version;
    if (version === undefined || !this.store.healthy() || Date.now() < this.buildRetryAt) return;
    try {
      if (this.lost === undefined && !(await this.store.versionMeta(version))) this.versionLost(version);
      if (this.lost === version) {
        this.building = undefined;
        await this.buildVersion();
        this.l.info({ lost: version, version: this.version }, 'lost vector version rebuilt');
        this.lost = undefined;
        this.buildBackoffMs = RETRY_FIRST_MS;
      } else if (((await this.store.currentVersion()) ?? 0) < version) {
        // The pointer alone went (a deleted key): readers are sent back to this version.
        await this.store.publishVersion(version);
        this.l.warn({ version }, 'current vector version re-announced');
      }
    } catch (err) {
      this.buildRetryAt = Date.now() + this.buildBackoffMs;
      this.l.warn({ err: (err as Error).message, version, retryMs: this.buildBackoffMs }, 'checking or rebuilding the vector version failed: retrying');
      this.buildBackoffMs = Math.min(2 * this.buildBackoffMs, RETRY_MAX_MS);
    }
  }

  /** The trainer's checkpoint gate: window writes done, deferred writes buffered and pending writes flushed. */
  async beforeCheckpoint(): Promise<boolean> {
    try {
      await Promise.all([this.windowWrites, this.arrivalWrites]);
      await this.writeDeferred();
      if (this.deferredUsers.size > 0 || this.deferredInteractions.length > 0) throw new Error(`${this.deferredUsers.size} user vectors deferred`);
      await this.store.flush(this.cfg.publishFlushMs);
      return true;
    } catch (err) {
      this.l.warn({ err: (err as Error).message }, 'vector writes not flushed: checkpoint postponed');
      return false;
    }
  }

  private async afterTrain(w: TrainedWindow): Promise<void> {
    const steps = this.trainer.model.step - this.versionStep;
    const due = steps >= this.cfg.versionEverySteps || Date.now() - this.versionAt >= this.cfg.versionEveryMs;
    // A due build waits while Redis is away and backs off after a failure; the window's users are then written into
    // the current version below (held by the store until Redis is back). A build never stops the role.
    if (due && !this.building && this.store.healthy() && Date.now() >= this.buildRetryAt) {
      await this.buildStep(() => this.beginBuild());
    }
    // Items before users: the users written next are then never scored against items older than the bound.
    await this.refreshItems();
    await this.writeWindow(w);
    if (this.building) await this.buildStep(() => this.continueBuild(this.cfg.versionUsers));
  }

  /**
   * Re-publishes the item vectors due by the steps trained since the last call (ItemRefreshRound). A write that fails
   * (Redis away, buffer full) leaves the items to the new-item retry, from the weights of then.
   */
  private async refreshItems(): Promise<void> {
    const step = this.trainer.model.step;
    const ids = this.itemRefresh.due(step - this.refreshStep, () => this.trainer.model.content.ids());
    this.refreshStep = step;
    if (ids.length === 0) return;
    const at = Date.now();
    const timer = itemRefreshSeconds.startTimer();
    try {
      for (const v of this.targets()) {
        itemVectorsRefreshed.inc(await this.writeItems(v, ids, at));
      }
    } catch (err) {
      // As a new item's write (flushNewItems): tried again by the timer, into whatever versions are current then.
      for (const id of ids) this.newItems.add(id);
      this.l.warn({ err: (err as Error).message, items: ids.length }, 'item vector refresh failed; retrying');
    } finally {
      timer();
    }
  }

  /** Runs a step of a build; a failure (Redis away) abandons the build and backs off. */
  private async buildStep(step: () => Promise<void>): Promise<void> {
    try {
      await step();
      if (!this.building) this.buildBackoffMs = RETRY_FIRST_MS;
    } catch (err) {
      this.abandonBuild(err as Error);
    }
  }

  private abandonBuild(err: Error): void {
    if (!this.building) return;
    this.buildRetryAt = Date.now() + this.buildBackoffMs;
    this.l.warn({ err: err.message, version: this.building.version, retryMs: this.buildBackoffMs }, 'vector version build abandoned: writing into the current version, retrying later');
    this.buildBackoffMs = Math.min(2 * this.buildBackoffMs, RETRY_MAX_MS);
    // Its keys expire when a later version is published (retireOlderVersions).
    this.building = undefined;
  }

  /**
   * The versions a vector goes to now: the one being built first, then the current one, so that a switch in
   * between can never find it in the current version and not in the new one.
   */
  private targets(): number[] {
    return [this.building?.version, this.version].filter((v): v is number => v !== undefined);
  }

  /**
   * A trained window's users. Their histories hold every event consumed so far: the arrival lane's turns queued
   * before now go first, and the cut windows' interactions not recorded yet and the users' open events' are recorded
   * with the snapshot, before the vectors.
   */
  private async writeWindow(w: TrainedWindow): Promise<void> {
    await this.arrivalWrites;
    const users = [...w.events.keys()];
    await this.writeUsersAfter(users, () => [...this.takeCutInteractions(), ...this.openInteractions(users)]);
  }

  /**
   * A window's interactions, as it is cut: from then on its events are in the histories (no longer open), so in every
   * vector written, while its `windowTrained` comes only after the step. Held for the arrival lane's next turn, which
   * records them before any vector it computes.
   */
  private recordCut(w: Pick<TrainedWindow, 'events'>): void {
    for (const e of [...w.events.values()].flat()) this.cutInteractions.push({ userId: e.user_id, itemId: e.item_id, eventTime: e.ts });
    this.queueArrivals();
  }

  /**
   * Users with new events in the open window (issue 13 goal 5): published now, before the window trains. Their open
   * events' interactions and every cut window's not yet recorded are taken at the same moment as their histories.
   */
  private writeArrivals(users: readonly string[]): Promise<void> {
    return this.writeUsersAfter(users, () => [...this.takeCutInteractions(), ...this.openInteractions(users)]);
  }

  /** The users' events in the open window, as interactions (recording one twice is harmless: a seen set). */
  private openInteractions(users: readonly string[]): Interaction[] {
    return [...this.trainer.openEvents(users).values()].flat().map((e) => ({ userId: e.user_id, itemId: e.item_id, eventTime: e.ts }));
  }

  private takeCutInteractions(): Interaction[] {
    const cut = this.cutInteractions;
    this.cutInteractions = [];
    return cut;
  }

  /**
   * The interactions, then the users' vectors into the current version (and the one being built). Interactions first:
   * a vector is never served while the items it came from are still recommended. So the interactions and the
   * histories the vectors are computed from are taken together, with nothing consumed in between (events consumed
   * later wait for the next write). What the store's full buffer refuses is deferred, in order.
   */
  private async writeUsersAfter(users: readonly string[], interactionsNow: () => Interaction[]): Promise<void> {
    if (this.version === undefined) return;
    await this.writeDeferred();
    const interactions = interactionsNow();
    if (this.deferredUsers.size > 0 || this.deferredInteractions.length > 0) {
      // Keep the order: nothing may overtake what is still deferred (a vector never before its interactions).
      this.defer(users, interactions);
      return;
    }
    const snapshot = users.length > 0 ? this.snapshot(users) : undefined;
    try {
      await this.store.recordInteractions(interactions);
    } catch (err) {
      if (!(err instanceof BackpressureError)) throw err;
      this.defer(users, interactions);
      return;
    }
    if (snapshot && !(await this.writeCurrentUsers(snapshot))) this.defer(users, []);
  }

  /**
   * Writes the snapshot's vectors into the current version and the one being built, both as they are once the vectors
   * are computed (the other lane may begin or switch a build meanwhile); false when the store's buffer is full (the
   * caller defers them).
   */
  private async writeCurrentUsers(snapshot: UserSnapshot): Promise<boolean> {
    const writes = await this.userWrites(snapshot);
    const version = this.version;
    const building = this.building;
    if (version === undefined) return true;
    // The other lane's interactions were refused meanwhile: these vectors may hold their events, so they wait too.
    if (this.deferredInteractions.length > 0) return false;
    try {
      checked(await this.store.writeUserVectors(version, writes));
    } catch (err) {
      if (!(err instanceof BackpressureError)) throw err;
      return false;
    }
    // Taken before that write: a build switched to meanwhile is the current version now and must have them too.
    if (building && building.version !== version) {
      try {
        checked(await this.store.writeUserVectors(building.version, writes));
      } catch (err) {
        if (this.building === building) this.abandonBuild(err as Error);
      }
    }
    return true;
  }

  private defer(users: readonly string[], interactions: readonly Interaction[]): void {
    // Deferred users are written into the current version only: a build cannot complete without them.
    this.abandonBuild(new Error('vector store buffer full'));
    if (this.deferredUsers.size === 0 && this.deferredInteractions.length === 0) this.l.warn({ users: users.length }, 'vector store buffer full: user vector writes deferred until it drains');
    for (const u of users) this.deferredUsers.add(u);
    this.deferredInteractions.push(...interactions);
  }

  /**
   * Writes deferred users (current weights, history's last event time) and interactions once the buffer has room. One
   * at a time: the timer, a checkpoint and the window writes all call it, and two overlapping runs would write the
   * same users from snapshots of different ages.
   */
  private writeDeferred(): Promise<void> {
    this.deferring ??= this.writeDeferredNow().finally(() => {
      this.deferring = undefined;
    });
    return this.deferring;
  }

  private async writeDeferredNow(): Promise<void> {
    if ((this.deferredUsers.size === 0 && this.deferredInteractions.length === 0) || this.store.shouldPause() || this.version === undefined) return;
    const ids = [...this.deferredUsers];
    try {
      // Interactions first: a vector is never served before the items it came from are excluded.
      if (this.deferredInteractions.length > 0) {
        // Taken before the await: the other lane may defer more meanwhile, and those must stay.
        const interactions = this.deferredInteractions;
        this.deferredInteractions = [];
        try {
          await this.store.recordInteractions(interactions);
        } catch (err) {
          this.deferredInteractions = [...interactions, ...this.deferredInteractions];
          throw err;
        }
      }
      for (let i = 0; i < ids.length; i += CHUNK) {
        const part = ids.slice(i, i + CHUNK);
        await this.writeUsers(this.version, part);
        for (const id of part) this.deferredUsers.delete(id);
      }
      this.l.info('deferred user vector writes buffered');
    } catch (err) {
      if (!(err instanceof BackpressureError)) throw err;
    }
  }

  /** Soon, not at once: a burst of content records (a table load, a chunk of listings) becomes one write. */
  private flushItemsSoon(): void {
    this.flushSoon ??= setImmediate(() => {
      this.flushSoon = undefined;
      void this.flushNewItems();
    });
  }

  /** Cold start: vectors of items whose content just arrived, under the current version. */
  private flushNewItems(): Promise<void> {
    if (this.newItems.size === 0 || this.version === undefined || this.flushing) return this.flushing ?? Promise.resolve();
    const ids = [...this.newItems];
    this.newItems.clear();
    const versions = this.targets();
    const at = Date.now();
    // An id whose content is gone was delisted (an ItemContent tombstone): it leaves Redis and readers' indexes.
    const delisted = ids.filter((id) => !this.trainer.model.content.has(id));
    let ok = false;
    this.flushing = (async () => {
      for (const v of versions) {
        await this.writeItems(v, ids, at);
        if (delisted.length > 0) await this.store.deleteItemVectors(v, delisted, this.order.next());
      }
      ok = true;
    })()
      .catch((err: unknown) => {
        // Not lost: tried again by the timer (into whatever versions are current then).
        for (const id of ids) this.newItems.add(id);
        this.l.warn({ err: err instanceof Error ? err.message : String(err), items: ids.length }, 'item vector write failed; retrying');
      })
      .finally(() => {
        this.flushing = undefined;
        // Items that arrived during a flush that went through go next, not at the timer's next tick (up to 200 ms later).
        if (ok && this.newItems.size > 0 && !this.stopping) this.flushItemsSoon();
      });
    return this.flushing;
  }

  /** Writes the items' vectors (ids without content skipped); returns how many were written. */
  private async writeItems(version: number, ids: readonly string[], eventTime: number): Promise<number> {
    let written = 0;
    for (let i = 0; i < ids.length; i += CHUNK) {
      const vectors = this.trainer.model.itemVectors(ids.slice(i, i + CHUNK));
      const order = this.order.next();
      checked(await this.store.writeItemVectors(version, [...vectors].map(([id, vector]) => ({ id, vector, eventTime, order }))));
      written += vectors.size;
    }
    return written;
  }

  /** A whole new version at once (the first one, at start): every item, every user with a history; then the switch. */
  async buildVersion(): Promise<number> {
    try {
      await this.beginBuild();
      await this.continueBuild(Number.MAX_SAFE_INTEGER);
    } catch (err) {
      this.building = undefined;
      throw err;
    }
    return this.version!;
  }

  /** Begins a version from the current weights: every item now, the users known now to follow. */
  private async beginBuild(): Promise<void> {
    const model = this.trainer.model;
    const version = await this.store.beginVersion({
      dim: model.config.outDim,
      config: model.config,
      checkpointId: String(this.trainer.stats.checkpointSeq),
      above: this.lastBegun,
    });
    this.lastBegun = version;
    this.building = { version, users: model.recentUsers(model.users), next: 0, started: Date.now() };
    // The refresh round goes on: it writes into this version too, and so bounds the current one's items meanwhile.
    await this.writeItems(version, [...model.content.ids()], Date.now());
  }

  /** Writes up to `limit` more users into the version being built; after the last one, switches readers to it. */
  private async continueBuild(limit: number): Promise<void> {
    const b = this.building;
    if (!b) return;
    const end = Math.min(b.users.length, b.next + limit);
    for (let i = b.next; i < end; i += CHUNK) {
      // Abandoned (Redis away, the version lost) while an earlier chunk was computed or written.
      if (this.building !== b) return;
      await this.writeUsers(b.version, b.users.slice(i, Math.min(end, i + CHUNK)));
    }
    b.next = end;
    if (b.next < b.users.length || this.building !== b) return;
    const previous = await this.store.publishVersion(b.version);
    this.building = undefined;
    this.version = b.version;
    const model = this.trainer.model;
    this.versionStep = model.step;
    this.versionAt = Date.now();
    this.lastBuild = { version: b.version, ms: Date.now() - b.started, items: model.content.size, users: b.users.length };
    this.l.info({ ...this.lastBuild, previous, step: model.step }, 'vector version published');
  }

  /** Users' vectors from everything consumed for them (as of this call), stamped with their newest event time. */
  private async writeUsers(version: number, users: readonly string[]): Promise<void> {
    checked(await this.store.writeUserVectors(version, await this.userWrites(this.snapshot(users))));
  }

  /**
   * What the users' vectors are computed from, taken now: their histories (everything consumed for them), each one's
   * newest event time, and the write order, so that a computation from an older snapshot never wins over a newer one
   * in Redis, however long its passes take.
   */
  private snapshot(users: readonly string[]): UserSnapshot {
    const { ids, histories } = this.trainer.userHistories(users);
    return { ids, histories, eventTimes: ids.map((id) => this.trainer.lastEventTime(id)), order: this.order.next() };
  }

  /**
   * The snapshot's vector writes, computed PASS_USERS users at a time with the event loop free in between. The weights
   * may move between passes; each vector is then from the weights current at its pass.
   */
  private async userWrites(s: UserSnapshot): Promise<VectorWrite[]> {
    const out: VectorWrite[] = [];
    for (let at = 0; at < s.ids.length; at += PASS_USERS) {
      if (at > 0) await new Promise<void>((r) => setImmediate(r));
      this.trainer.model.userVectorsOf(s.histories.slice(at, at + PASS_USERS)).forEach((vector, i) => {
        out.push({ id: s.ids[at + i]!, vector, eventTime: s.eventTimes[at + i]!, order: s.order });
      });
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.flushSoon) clearImmediate(this.flushSoon);
    this.flushSoon = undefined;
    this.removeReadiness?.();
    await Promise.all([this.windowWrites, this.arrivalWrites]);
    await this.flushNewItems();
    await this.store.flush(this.cfg.publishFlushMs).catch((err: unknown) => this.l.warn({ err: (err as Error).message }, 'pending vector writes dropped at stop'));
    await this.store.close();
  }
}

/** Users' vectors to be: what they are computed from, and how their writes are stamped (VectorPublisher.snapshot). */
interface UserSnapshot {
  ids: string[];
  histories: ItemRef[][];
  eventTimes: number[];
  order: number;
}

/**
 * A write result the publisher can act on. Writes refused as `unknown-version` (the version's meta gone from Redis)
 * reach the publisher through the store's `versionLost` event, which rebuilds the version; a refused dimension is a
 * bug or a foreign writer, so it fails the write.
 */
function checked(result: WriteResult): WriteResult {
  const wrongDim = result.rejected.filter((r) => r.reason === 'dim-mismatch');
  if (wrongDim.length > 0) throw new StoreError('bad-vector', `${wrongDim.length} vector writes refused by redis as of another dimension, e.g. ${wrongDim[0]!.id}`);
  return result;
}
