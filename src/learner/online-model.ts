import type { UserEvent } from '../codec/index.js';
import type { Config } from '../config/load.js';
import { buildPalBatch, frozenContent, hybridResiduals, palConfigFromConfig, PalLearner, type BackendChoice, type ItemRef, type LearnerState, type NamedArrays, type NegativePool, type PalBatch, type PalConfig, type UserExample } from '../model/index.js';
import { TrainingThread } from '../model/training-thread.js';
import type { ContentTable } from './content-table.js';
import { UserHistories, type HistoriesSnapshot, type HistoriesSnapshotV1, type UserHistory } from './histories.js';
import { HybridItems, type HybridItemsSnapshot } from './hybrid-items.js';
import { armedFaultHang } from '../ops/fault-injection.js';

/** The settings the online model reads (a narrow view of the program's config). */
export type OnlineModelSettings = Pick<Config, 'historyLen' | 'maxUsers' | 'stepsPerBatch' | 'seed' | 'rehearsalWindows' | 'rehearsalSamples' | 'itemInput' | 'hybridGateK' | 'hybridMaxItems'> &
  Parameters<typeof palConfigFromConfig>[0];

/** The JSON part of the model's state; the float arrays (weights, optimizer moments) travel beside it. */
export interface OnlineModelState {
  /** Typed arrays (written as raw bytes); the first format, JSON per user, in checkpoints from before. */
  histories: HistoriesSnapshot | HistoriesSnapshotV1;
  learner: { config: PalConfig; optimizerStep: number };
  rng: number;
  /** The hybrid item input's rows and counts (absent: the tower reads frozen content). */
  hybrid?: HybridItemsSnapshot;
  /** The rehearsal buffer, oldest window first (absent in checkpoints from before it was saved: empty). */
  rehearsal?: RehearsedExample[][];
}

/** How `state()` takes the histories: copied (default), or pinned views of the live arrays for a checkpoint thread. */
export interface StateOptions {
  pinHistories?: boolean;
}

/** A rehearsed example by item ids: content is looked up when it is drawn, so a checkpoint holds ids only. */
export interface RehearsedExample {
  history: string[];
  targets: string[];
}

/** A window's events per user (event-time order each) and the examples built from them. */
export interface WindowExamples {
  events: ReadonlyMap<string, readonly UserEvent[]>;
  /** user -> history before the window (content refs) and the window's items as targets. */
  examples: ReadonlyMap<string, UserExample>;
}

/**
 * The online LEARN model in memory, with no Kafka and no Redis: the frozen content table, the users' histories and the
 * PAL learner (River's learn_one/predict_one, one window at a time). The trainer role drives it from Kafka, the
 * in-process replay from a data set; scoring and publishing read vectors through it only.
 */
export class OnlineModel {
  private readonly histories: UserHistories;
  /** The last LEARN_REHEARSAL_WINDOWS windows' examples (checkpointed: a restart rehearses what the run before it would have). */
  private readonly rehearsal: RehearsedExample[][];
  /**
   * Where the optimizer steps run when off the event loop (see `trainOffLoop`); the learner here is then an inference
   * copy that takes each step's weight snapshot, and `threadStep` is the step those weights follow.
   */
  private thread: TrainingThread | undefined;
  private threadStep = 0;
  /** Steps the training thread skipped as non-finite. */
  private threadSkipped = 0;

  private constructor(
    private readonly settings: OnlineModelSettings,
    /** The frozen content vectors, fed by whoever follows the item-content stream. */
    readonly content: ContentTable,
    private readonly learner: PalLearner,
    histories?: UserHistories,
    /** The hybrid item input's rows and counts (LEARN_ITEM_INPUT=hybrid); absent: frozen content. */
    private readonly hybrid?: HybridItems,
    rehearsal: RehearsedExample[][] = [],
  ) {
    this.histories = histories ?? new UserHistories(settings.historyLen, settings.maxUsers);
    // A restart with fewer LEARN_REHEARSAL_WINDOWS keeps the newest windows only.
    this.rehearsal = settings.rehearsalWindows > 0 ? rehearsal.slice(-settings.rehearsalWindows) : [];
  }

  /** A new model for content vectors of `contentDim` values, with the item input the settings ask for. */
  static fresh(settings: OnlineModelSettings, content: ContentTable, contentDim: number): OnlineModel {
    const cfg = palConfigFromConfig(settings, contentDim);
    const hybrid = settings.itemInput === 'hybrid' ? new HybridItems(settings.hybridGateK, settings.hybridMaxItems) : undefined;
    return new OnlineModel(settings, content, OnlineModel.learnerFor(settings, cfg, hybrid), undefined, hybrid);
  }

  private static learnerFor(settings: OnlineModelSettings, cfg: PalConfig, hybrid: HybridItems | undefined): PalLearner {
    return new PalLearner(cfg, settings.seed, hybrid ? hybridResiduals(cfg.contentDim, hybrid.maxRows) : frozenContent(cfg.contentDim));
  }

  /** A model from a saved state (see `state()`). A state from before a hyperparameter existed takes it from the settings. */
  static restore(settings: OnlineModelSettings, content: ContentTable, s: OnlineModelState, arrays: NamedArrays): OnlineModel {
    const pick = (prefix: string): NamedArrays =>
      Object.fromEntries(Object.entries(arrays).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
    const config = { ...palConfigFromConfig(settings, s.learner.config.contentDim), ...s.learner.config };
    const saved = s.hybrid ? 'hybrid' : 'content';
    if (saved !== settings.itemInput) throw new Error(`LEARN_ITEM_INPUT is ${settings.itemInput} but the checkpoint was trained with ${saved}: set it back, or start from a fresh LEARN_STATE_DIR`);
    const hybrid = s.hybrid ? HybridItems.restore(s.hybrid, settings.hybridGateK, settings.hybridMaxItems) : undefined;
    const learner = OnlineModel.learnerFor(settings, config, hybrid);
    learner.setState({ config, weights: pick('w/'), optimizer: { step: s.learner.optimizerStep, m: pick('m/'), v: pick('v/') } });
    learner.rng.setState(s.rng);
    const histories = UserHistories.restore(s.histories, settings.historyLen, settings.maxUsers);
    return new OnlineModel(settings, content, learner, histories, hybrid, s.rehearsal);
  }

  /** The interactions the item input counts for an item (the hybrid gate's n; 0 under frozen content). */
  interactionsOf(itemId: string): number {
    return this.hybrid?.interactions(itemId) ?? 0;
  }

  /** The tower's sizes and hyperparameters (a copy). */
  get config(): PalConfig {
    return { ...this.learner.cfg };
  }

  /** Optimizer steps skipped as non-finite (see PalLearner.skippedSteps), in the training thread too. */
  get skippedSteps(): number {
    return this.learner.skippedSteps + this.threadSkipped;
  }

  /** Optimizer steps taken so far: the version of the weights vectors are computed with now. */
  get step(): number {
    return this.thread ? this.threadStep : this.learner.step;
  }

  /**
   * Moves the optimizer steps to a worker thread (LEARN_TRAIN_THREAD) that starts from this model's weights and
   * optimizer: `learnWindowOffLoop` then waits for steps without holding the event loop. `onFail`: the thread died
   * or a step failed (its weights are lost: the caller must stop without a checkpoint).
   */
  async trainOffLoop(backend: BackendChoice, onFail: (err: Error) => void): Promise<void> {
    if (this.thread) return;
    const input = this.hybrid ? { kind: 'hybrid' as const, maxRows: this.hybrid.maxRows } : { kind: 'content' as const };
    const thread = await TrainingThread.start({ cfg: this.learner.cfg, seed: this.settings.seed, input, backend, state: this.learner.getState(), faultHang: armedFaultHang() });
    this.threadStep = this.learner.step;
    this.thread = thread;
    thread.onFail(onFail);
  }

  get users(): number {
    return this.histories.size;
  }

  history(userId: string): Readonly<UserHistory> | undefined {
    return this.histories.get(userId);
  }

  /** The most recently active users, newest first. */
  recentUsers(limit: number): string[] {
    return this.histories.recent(limit);
  }

  /** Examples of a window: each user's history before it (items with content) and its events with content as targets. */
  examplesOf(events: ReadonlyMap<string, readonly UserEvent[]>): Map<string, UserExample> {
    const examples = new Map<string, UserExample>();
    for (const [user, list] of events) {
      const history = this.refs(this.histories.get(user)?.items ?? []);
      const targets = this.refs(list.map((e) => e.item_id));
      examples.set(user, { history, targets });
    }
    return examples;
  }

  /**
   * Learns from one window: `stepsPerBatch` optimizer steps on its examples, negatives drawn from `pool` (default: the
   * whole content table), then the window's items join the users' histories. Returns the last step's loss (0 when the
   * window had nothing to contrast). `keep` false: the window does not join the rehearsal buffer (one grown while a
   * step ran: rehearsing it later would cost a grown step).
   */
  learnWindow(w: WindowExamples, pool: NegativePool = this.content, rehearse = true, keep = true): number {
    const loss = this.train(w.examples, pool, rehearse, keep);
    this.observe(w.events);
    return loss;
  }

  /**
   * `learnWindow` with the steps in the training thread (if `trainOffLoop` started one; else in this thread): the
   * batches are built and the histories updated at once, so the next window's examples and the vectors served
   * meanwhile read the new histories; the weights follow when the steps are done. One call at a time.
   */
  async learnWindowOffLoop(w: WindowExamples, pool: NegativePool = this.content, rehearse = true, keep = true): Promise<number> {
    if (!this.thread) return this.learnWindow(w, pool, rehearse, keep);
    const batches = this.batchesOf(w.examples, pool, rehearse, keep);
    this.observe(w.events);
    const trained = await this.thread.steps(batches, this.hybrid?.size ?? 0);
    this.learner.setWeights(trained.weights);
    this.threadStep = trained.step;
    this.threadSkipped += trained.skipped;
    return trained.loss;
  }

  /**
   * Optimizer steps on examples without touching the histories (warm-start epochs, delayed retraining). `rehearse`
   * false trains on the examples alone (the live trainer behind on its stream); they join the rehearsal buffer either
   * way, unless `keep` is false.
   */
  train(examples: ReadonlyMap<string, UserExample>, pool: NegativePool = this.content, rehearse = true, keep = true): number {
    if (this.thread) throw new Error('this model trains in its training thread: use learnWindowOffLoop');
    let loss = 0;
    // Batches are built before any step runs (a step reads none of the sampling generator's state).
    for (const batch of this.batchesOf(examples, pool, rehearse, keep)) loss = this.learner.trainStep(batch);
    return loss;
  }

  /** The `stepsPerBatch` batches of a window (rehearsed windows joined when `rehearse`); its examples join the rehearsal buffer when `keep`. */
  private batchesOf(examples: ReadonlyMap<string, UserExample>, pool: NegativePool, rehearse: boolean, keep: boolean): PalBatch[] {
    const list = [...examples.values()];
    const inputPool: NegativePool = this.hybrid ? { size: pool.size, at: (i) => this.inputRef(pool.at(i)) } : pool;
    const batches: PalBatch[] = [];
    for (let s = 0; s < this.settings.stepsPerBatch; s++) {
      const rehearsed = rehearse ? rehearsalDraw(this.rehearsal, this.settings.rehearsalSamples, (n) => this.learner.rng.int(n)) : [];
      const batch = [...list, ...rehearsed.map((e) => ({ history: this.refs(e.history), targets: this.refs(e.targets) }))].map((e) => this.inputExample(e));
      batches.push(buildPalBatch(batch, this.learner.cfg, this.learner.rng, inputPool, this.learner.floatsPerItem));
    }
    const ids = (refs: readonly ItemRef[]): string[] => refs.map((r) => r.itemId);
    if (keep) remember(this.rehearsal, list.map((e) => ({ history: ids(e.history), targets: ids(e.targets) })), this.settings.rehearsalWindows);
    return batches;
  }

  /** The window's items join their users' histories (what a user vector reads), with no weight update. */
  observe(events: ReadonlyMap<string, readonly UserEvent[]>): void {
    for (const [user, list] of events) {
      if (list.length > 0) this.histories.append(user, list.map((e) => e.item_id), list.at(-1)!.ts);
      // The hybrid gate counts the interactions the model has seen (those of items with content, as trained).
      this.hybrid?.add(list.flatMap((e) => (this.content.has(e.item_id) ? [e.item_id] : [])));
    }
    if (this.hybrid) this.learner.reserveItemRows(this.hybrid.size);
  }

  /**
   * User vectors (current weights) of users with a history of items that have content; others are absent. `unseen`:
   * events consumed but not learned from yet (the open window), appended to their users' histories: a user vector is
   * a function of the history and the weights, so it can be served before the window trains.
   */
  userVectors(users: readonly string[], unseen?: ReadonlyMap<string, readonly UserEvent[]>): Map<string, Float32Array> {
    const { ids, histories } = this.userHistories(users, unseen);
    const vectors = this.userVectorsOf(histories);
    return new Map(ids.map((id, i) => [id, vectors[i]!]));
  }

  /**
   * The histories `userVectors` reads, taken now (users without one left out): `userVectorsOf` parts of them later
   * gives each user's vector as of this moment's history, whatever is consumed meanwhile.
   */
  userHistories(users: readonly string[], unseen?: ReadonlyMap<string, readonly UserEvent[]>): { ids: string[]; histories: ItemRef[][] } {
    const ids: string[] = [];
    const histories: ItemRef[][] = [];
    for (const u of users) {
      const later = unseen?.get(u);
      const stored = this.histories.get(u)?.items ?? [];
      const h = this.refs(later ? [...stored, ...later.map((e) => e.item_id)] : stored);
      if (h.length === 0) continue;
      ids.push(u);
      histories.push(h);
    }
    return { ids, histories };
  }

  /** User vectors from given histories (oldest first, none empty): what a user with that history would be served. */
  userVectorsOf(histories: readonly (readonly ItemRef[])[]): Float32Array[] {
    if (histories.length === 0) return [];
    const L = this.learner.cfg.maxHistory;
    return this.learner.userVectors(histories.map((h) => h.slice(-L).map((r) => this.floatsOf(r))));
  }

  /** Item vectors (current weights) of items with content; others are absent. */
  itemVectors(items: readonly string[]): Map<string, Float32Array> {
    const ids = items.filter((id) => this.content.has(id));
    const rows = this.itemMatrix(ids);
    const d = this.learner.cfg.outDim;
    return new Map(ids.map((id, i) => [id, rows.slice(i * d, (i + 1) * d)]));
  }

  /** Item vectors of `ids` (all with content) as one row-major [ids.length * outDim] matrix. */
  itemMatrix(ids: readonly string[]): Float32Array {
    const d = this.learner.cfg.outDim;
    const out = new Float32Array(ids.length * d);
    if (ids.length === 0) return out;
    this.learner.itemVectors(ids.map((itemId) => this.floatsOf({ itemId, content: this.contentOf(itemId) }))).forEach((v, i) => out.set(v, i * d));
    return out;
  }

  /**
   * The model's state (see `state()`), the optimizer's from the training thread when it has one: asked for at once,
   * so it holds every step asked for before this call, as the histories and the generator taken now do.
   */
  async stateNow(o: StateOptions = {}): Promise<{ state: OnlineModelState; arrays: NamedArrays }> {
    if (!this.thread) return this.state(o);
    const learner = this.thread.state();
    const json = this.jsonState(o);
    return this.stateOf(await learner, json);
  }

  /**
   * The model's state: JSON part and named arrays (w/ weights, m/ and v/ optimizer moments). `pinHistories`: the
   * histories as views of their live shared arrays, not a copy (a checkpoint thread reads them); no window may be
   * learned until `unpinHistories`.
   */
  state(o: StateOptions = {}): { state: OnlineModelState; arrays: NamedArrays } {
    if (this.thread) throw new Error('the optimizer is in the training thread: use stateNow()');
    return this.stateOf(this.learner.getState(), this.jsonState(o));
  }

  private stateOf(s: LearnerState, json: Omit<OnlineModelState, 'learner'>): { state: OnlineModelState; arrays: NamedArrays } {
    const arrays: NamedArrays = {};
    for (const [k, v] of Object.entries(s.weights)) arrays[`w/${k}`] = v;
    for (const [k, v] of Object.entries(s.optimizer.m)) arrays[`m/${k}`] = v;
    for (const [k, v] of Object.entries(s.optimizer.v)) arrays[`v/${k}`] = v;
    const { histories, ...rest } = json;
    return { state: { histories, learner: { config: s.config, optimizerStep: s.optimizer.step }, ...rest }, arrays };
  }

  /** Everything of the state but the learner's, copied now (the histories pinned instead when asked). */
  private jsonState(o: StateOptions): Omit<OnlineModelState, 'learner'> {
    return {
      histories: o.pinHistories ? this.histories.pin() : this.histories.snapshot(),
      rng: this.learner.rng.getState(),
      ...(this.hybrid ? { hybrid: this.hybrid.snapshot() } : {}),
      rehearsal: this.rehearsal.map((w) => w.map((e) => ({ history: [...e.history], targets: [...e.targets] }))),
    };
  }

  unpinHistories(): void {
    this.histories.unpin();
  }

  dispose(): void {
    void this.thread?.close();
    this.learner.dispose();
  }

  /** Ends the training thread (`abandon`: without waiting for its queued steps, e.g. after it stalled) and frees the learner. */
  async close(o: { abandon?: boolean } = {}): Promise<void> {
    await this.thread?.close(o.abandon ? 0 : undefined);
    this.thread = undefined;
    this.learner.dispose();
  }

  /** What the learner reads for an item: its content vector, or (hybrid) content, residual row and gate. */
  private floatsOf(ref: ItemRef): Float32Array {
    return this.hybrid ? this.hybrid.floatsOf(ref) : ref.content;
  }

  private inputRef(ref: ItemRef): ItemRef {
    return { itemId: ref.itemId, content: this.floatsOf(ref) };
  }

  private inputExample(e: UserExample): UserExample {
    return this.hybrid ? { history: e.history.map((r) => this.inputRef(r)), targets: e.targets.map((r) => this.inputRef(r)) } : e;
  }

  private contentOf(itemId: string): Float32Array {
    const c = this.content.get(itemId);
    if (!c) throw new Error(`item ${itemId} has no content vector`);
    return c;
  }

  private refs(items: readonly string[]): ItemRef[] {
    const out: ItemRef[] = [];
    for (const itemId of items) {
      const content = this.content.get(itemId);
      if (content) out.push({ itemId, content });
    }
    return out;
  }
}

/** Up to k distinct windows drawn from the rehearsal buffer, flattened. */
export function rehearsalDraw<T>(buffer: readonly T[][], k: number, draw: (n: number) => number): T[] {
  if (buffer.length === 0 || k <= 0) return [];
  const picked = new Set<number>();
  while (picked.size < Math.min(k, buffer.length)) picked.add(draw(buffer.length));
  return [...picked].flatMap((i) => buffer[i] as T[]);
}

/** Adds a window to the rehearsal buffer, dropping the oldest past `keep` (0: no rehearsal, nothing kept). */
export function remember<T>(buffer: T[][], window: T[], keep: number): void {
  if (keep <= 0) return;
  buffer.push(window);
  if (buffer.length > keep) buffer.shift();
}
