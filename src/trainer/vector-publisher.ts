import type { Config } from '../config/load.js';
import { log } from '../ops/logger.js';
import { BackpressureError, VectorStore, type Interaction, type VectorWrite } from '../store/index.js';
import type { TrainedWindow, Trainer } from './trainer.js';

const CHUNK = 512;

/**
 * Puts the trainer's vectors in Redis. After each micro-batch the touched users' vectors are written under the
 * current version; a new item's vector is written as soon as its content arrives (cold start, before any click);
 * every N steps or T ms a whole new version (all items, recently active users) is built and switched to, since
 * every step moves every vector. Consumption pauses while Redis writes back up; checkpoints (and so offset
 * commits) wait until pending writes are flushed.
 */
export class VectorPublisher {
  private version: number | undefined;
  private versionStep = 0;
  private versionAt = Date.now();
  private readonly newItems = new Set<string>();
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
  /** The window writes in flight, one after another: a checkpoint waits for them. */
  private windowWrites: Promise<void> = Promise.resolve();
  private readonly l = log('trainer.publisher');

  private constructor(
    private readonly cfg: Config,
    private readonly trainer: Trainer,
    readonly store: VectorStore,
    private readonly onFailure: (err: Error) => void,
  ) {}

  /**
   * Opens the store, makes sure a version of the model's dimension is current (building the first one), and follows
   * the trainer's windows and content. A write that fails for a reason other than backpressure is reported to
   * `onFailure` (the role stops; a restart resumes from the last checkpoint, whose offsets it never passed).
   */
  static async start(cfg: Config, trainer: Trainer, opts: { store?: VectorStore; onFailure?: (err: Error) => void } = {}): Promise<VectorPublisher> {
    const fail = opts.onFailure ?? ((err: Error) => log('trainer.publisher').error({ err }, 'vector write failed'));
    const p = new VectorPublisher(cfg, trainer, opts.store ?? (await VectorStore.fromConfig(cfg)), fail);
    const model = trainer.model;
    const current = await p.store.currentVersion();
    const meta = current === undefined ? undefined : await p.store.versionMeta(current);
    if (meta && meta.dim === model.config.outDim && meta.config === JSON.stringify(model.config)) {
      p.version = current;
      p.versionStep = model.step;
      p.l.info({ version: current }, 'writing into the current vector version');
    } else {
      await p.buildVersion();
    }
    // Catches items that arrived while a flush was running.
    p.timer = setInterval(() => {
      void p.flushNewItems();
      void p.writeDeferred().catch((err: unknown) => p.l.warn({ err: (err as Error).message }, 'deferred vector writes failed'));
    }, 200);
    trainer.on('windowTrained', (w) => {
      p.windowWrites = p.windowWrites.then(() => p.afterTrain(w)).catch((err: unknown) => p.onFailure(err instanceof Error ? err : new Error(String(err))));
    });
    trainer.on('contentArrived', (itemId) => {
      p.newItems.add(itemId);
      // Soon, not at once: a burst of content records (a table load, a chunk of listings) becomes one write.
      p.flushSoon ??= setImmediate(() => {
        p.flushSoon = undefined;
        void p.flushNewItems();
      });
    });
    trainer.collaborate({ backpressure: p.store, checkpointGate: p });
    return p;
  }

  get currentVersion(): number | undefined {
    return this.version;
  }

  /** The trainer's checkpoint gate: window writes done, deferred writes buffered and pending writes flushed. */
  async beforeCheckpoint(): Promise<boolean> {
    try {
      await this.windowWrites;
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
    if (steps >= this.cfg.versionEverySteps || Date.now() - this.versionAt >= this.cfg.versionEveryMs) {
      await this.buildVersion();
      return;
    }
    const version = this.version!;
    const users = [...w.events.keys()];
    const interactions = [...w.events.values()].flat().map((e) => ({ userId: e.user_id, itemId: e.item_id, eventTime: e.ts }));
    await this.writeDeferred();
    if (this.deferredUsers.size > 0) {
      // Keep the order: nothing of this window may overtake what is still deferred.
      this.defer(users, interactions);
      return;
    }
    const vectors = this.trainer.model.userVectors(users);
    const writes: VectorWrite[] = [...vectors].map(([id, vector]) => ({ id, vector, eventTime: lastTs(w, id) }));
    try {
      await this.store.writeUserVectors(version, writes);
    } catch (err) {
      if (!(err instanceof BackpressureError)) throw err;
      this.defer(users, interactions);
      return;
    }
    try {
      await this.store.recordInteractions(interactions);
    } catch (err) {
      if (!(err instanceof BackpressureError)) throw err;
      this.defer([], interactions);
    }
  }

  private defer(users: readonly string[], interactions: readonly Interaction[]): void {
    if (this.deferredUsers.size === 0 && this.deferredInteractions.length === 0) this.l.warn({ users: users.length }, 'vector store buffer full: user vector writes deferred until it drains');
    for (const u of users) this.deferredUsers.add(u);
    this.deferredInteractions.push(...interactions);
  }

  /** Writes deferred users (current weights, history's last event time) and interactions once the buffer has room. */
  private async writeDeferred(): Promise<void> {
    if ((this.deferredUsers.size === 0 && this.deferredInteractions.length === 0) || this.store.shouldPause() || this.version === undefined) return;
    const ids = [...this.deferredUsers];
    try {
      for (let i = 0; i < ids.length; i += CHUNK) {
        const part = ids.slice(i, i + CHUNK);
        await this.writeUsers(this.version, part);
        for (const id of part) this.deferredUsers.delete(id);
      }
      if (this.deferredInteractions.length > 0) {
        await this.store.recordInteractions(this.deferredInteractions);
        this.deferredInteractions = [];
      }
      this.l.info('deferred user vector writes buffered');
    } catch (err) {
      if (!(err instanceof BackpressureError)) throw err;
    }
  }

  /** Cold start: vectors of items whose content just arrived, under the current version. */
  private flushNewItems(): Promise<void> {
    if (this.newItems.size === 0 || this.version === undefined || this.flushing) return this.flushing ?? Promise.resolve();
    const ids = [...this.newItems];
    this.newItems.clear();
    this.flushing = this.writeItems(this.version, ids, Date.now())
      .catch((err: unknown) => {
        // Not lost: the next version build writes every item.
        this.l.warn({ err: (err as Error).message, items: ids.length }, 'item vector write failed');
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  private async writeItems(version: number, ids: readonly string[], eventTime: number): Promise<void> {
    for (let i = 0; i < ids.length; i += CHUNK) {
      const vectors = this.trainer.model.itemVectors(ids.slice(i, i + CHUNK));
      await this.store.writeItemVectors(version, [...vectors].map(([id, vector]) => ({ id, vector, eventTime })));
    }
  }

  /** A whole new version from the current weights: every item, the recently active users; then the switch. */
  async buildVersion(): Promise<number> {
    const started = Date.now();
    const model = this.trainer.model;
    const version = await this.store.beginVersion({
      dim: model.config.outDim,
      config: model.config,
      checkpointId: String(this.trainer.stats.checkpointSeq),
    });
    const items = [...model.content.ids()];
    await this.writeItems(version, items, Date.now());
    const users = model.recentUsers(this.cfg.versionUsers);
    for (let i = 0; i < users.length; i += CHUNK) await this.writeUsers(version, users.slice(i, i + CHUNK));
    const previous = await this.store.publishVersion(version);
    this.version = version;
    this.versionStep = model.step;
    this.versionAt = Date.now();
    this.l.info({ version, previous, items: items.length, users: users.length, step: model.step, ms: Date.now() - started }, 'vector version published');
    return version;
  }

  /** Users' vectors from their stored histories, stamped with their history's last event time. */
  private async writeUsers(version: number, users: readonly string[]): Promise<void> {
    const model = this.trainer.model;
    const vectors = model.userVectors(users);
    await this.store.writeUserVectors(version, [...vectors].map(([id, vector]) => ({ id, vector, eventTime: model.history(id)?.lastTs ?? 0 })));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.windowWrites;
    await this.flushNewItems();
    await this.store.flush(this.cfg.publishFlushMs).catch((err: unknown) => this.l.warn({ err: (err as Error).message }, 'pending vector writes dropped at stop'));
    await this.store.close();
  }
}

function lastTs(w: TrainedWindow, user: string): number {
  return w.events.get(user)?.at(-1)?.ts ?? 0;
}
