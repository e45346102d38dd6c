// The methods the leave-one-out protocol compares, over one catalogue: LEARN and the SASRec-like ID model (the
// streaming product's towers, loss and optimizer, trained in epochs of next-item examples), the frozen content,
// popularity and item-kNN. Each gives, for a list of histories, a score per catalogue item.
import type { Config } from '../config/load.js';
import { ItemKnn, type ItemKnnOptions } from '../knn/item-knn.js';
import type { ContentTable } from '../learner/content-table.js';
import { OnlineModel } from '../learner/online-model.js';
import { palConfigFromConfig, type ItemRef, type Rng, type UserExample } from '../model/index.js';
import { IdSequenceLearner } from '../replay/methods/sasrec/id-learner.js';
import { normalisedMean, scoreRows, stackRows } from '../replay/scoring.js';
import type { ItemMatrix } from './item-space.js';

export const LOO_METHODS = ['learn', 'sasrec', 'content', 'popularity', 'knn'] as const;
export type LooMethodName = (typeof LOO_METHODS)[number];

export const LOO_LABELS: Record<LooMethodName, string> = {
  learn: 'LEARN (frozen content + PAL towers)',
  sasrec: 'SASRec-like (ID embeddings, same towers)',
  content: 'Frozen content, no adapter',
  popularity: 'Popularity',
  knn: 'Item-kNN (co-occurrence)',
};

/** The item-kNN settings tried, one per "epoch": the protocol keeps the one best on the validation items. */
export const KNN_GRID: readonly ItemKnnOptions[] = [5, 20, 50].flatMap((pairWindow) => [1, 3, 10].map((queryItems) => ({ pairWindow, queryItems })));

/** A next-item training example by item ids. */
export interface NextItemExample {
  history: readonly string[];
  target: string;
}

/** How the operating point applies, as in the replay: 'content' takes the content term and the prior, 'history' the prior, 'popularity' is the prior. */
export type LooKind = 'content' | 'history' | 'popularity';

/** What the protocol asks of a method. */
export interface LooMethod {
  readonly name: LooMethodName;
  readonly kind: LooKind;
  /** Stages to go through (epochs of a learned method, settings of item-kNN, 1 otherwise); the protocol keeps the best on validation. */
  readonly stages: number;
  /** Whether stages are epochs of training (early stopping applies) rather than settings. */
  readonly trains: boolean;
  /** Moves to stage `s` (0-based): trains one more epoch, or takes the s-th setting. */
  stage(s: number, examples: readonly NextItemExample[], rng: Rng): void;
  /** Scores over the catalogue for each history (ids, oldest first; empty: zeros). */
  scores(histories: readonly (readonly string[])[]): Float32Array[];
  /** What the current stage is, for the report. */
  describe(): Record<string, number>;
  /** The item vectors it scores with, in catalogue order (none for a method without item vectors). */
  itemMatrix?(): ItemMatrix;
  dispose(): void;
}

/** The shared inputs: settings, the frozen content of every catalogue item, the catalogue in a fixed order. */
export interface LooContext {
  cfg: Config;
  content: ContentTable;
  catalogue: readonly string[];
  seed: number;
}

/** A seeded shuffle's batches of `size` (the streaming product's window of LEARN_BATCH_USERS users). */
function batches<T>(xs: readonly T[], size: number, rng: Rng): T[][] {
  const order = [...xs];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j] as T, order[i] as T];
  }
  const out: T[][] = [];
  for (let i = 0; i < order.length; i += size) out.push(order.slice(i, i + size));
  return out;
}

function refsOf(content: ContentTable, ids: readonly string[]): ItemRef[] {
  return ids.flatMap((itemId) => {
    const c = content.get(itemId);
    return c ? [{ itemId, content: c }] : [];
  });
}

/** Scores of user vectors (one per non-empty history) against an item matrix; zeros for an empty history. */
function dotScores(histories: readonly (readonly unknown[])[], users: readonly Float32Array[], items: Float32Array, n: number, dim: number): Float32Array[] {
  let r = 0;
  return histories.map((h) => (h.length === 0 ? new Float32Array(n) : scoreRows(items, n, dim, users[r++] as Float32Array)));
}

/** What a learned method trains and scores with: LEARN's model, or the SASRec-like ID learner. */
interface EpochLearner {
  trainBatch(batch: readonly NextItemExample[]): void;
  readonly step: number;
  scores(histories: readonly (readonly string[])[]): Float32Array[];
  itemMatrix(): ItemMatrix;
  dispose(): void;
}

/** A learned method: each stage is one more epoch over the shuffled examples, in batches of LEARN_BATCH_USERS. */
class EpochMethod implements LooMethod {
  readonly trains = true;
  private epochs = 0;

  constructor(
    readonly name: LooMethodName,
    readonly kind: LooKind,
    private readonly learner: EpochLearner,
    private readonly batchUsers: number,
    readonly stages: number,
  ) {}

  stage(_s: number, examples: readonly NextItemExample[], rng: Rng): void {
    for (const batch of batches(examples, this.batchUsers, rng)) this.learner.trainBatch(batch);
    this.epochs++;
  }

  describe(): Record<string, number> {
    return { epochs: this.epochs, steps: this.learner.step };
  }

  scores(histories: readonly (readonly string[])[]): Float32Array[] {
    return this.learner.scores(histories);
  }

  itemMatrix(): ItemMatrix {
    return this.learner.itemMatrix();
  }

  dispose(): void {
    this.learner.dispose();
  }
}

/** LEARN: the streaming product's model (frozen content, PAL towers), trained on next-item examples. */
function learnLearner(ctx: LooContext): EpochLearner {
  const model = OnlineModel.fresh({ ...ctx.cfg, seed: ctx.seed }, ctx.content, ctx.content.dim as number);
  return {
    trainBatch(batch) {
      const map = new Map<string, UserExample>(batch.map((e, i) => [String(i), { history: refsOf(ctx.content, e.history), targets: refsOf(ctx.content, [e.target]) }]));
      model.train(map, ctx.content, false);
    },
    get step() {
      return model.step;
    },
    scores(histories) {
      const refs = histories.map((h) => refsOf(ctx.content, h));
      const users = model.userVectorsOf(refs.filter((h) => h.length > 0));
      return dotScores(refs, users, model.itemMatrix(ctx.catalogue), ctx.catalogue.length, model.config.outDim);
    },
    itemMatrix: () => ({ rows: model.itemMatrix(ctx.catalogue), n: ctx.catalogue.length, dim: model.config.outDim }),
    dispose: () => model.dispose(),
  };
}

/** The SASRec-like ID model: the same towers over learned item-id embeddings. */
function sasrecLearner(ctx: LooContext): EpochLearner {
  const learner = new IdSequenceLearner(palConfigFromConfig(ctx.cfg, ctx.content.dim as number), ctx.catalogue.length, ctx.seed);
  return {
    trainBatch(batch) {
      const ids = batch.map((e) => ({ history: e.history, targets: [e.target] }));
      for (let s = 0; s < ctx.cfg.stepsPerBatch; s++) learner.trainStep(ids, ctx.content);
    },
    get step() {
      return learner.step;
    },
    scores(histories) {
      const L = learner.cfg.maxHistory;
      const users = learner.userVectors(histories.filter((h) => h.length > 0).map((h) => h.slice(-L)));
      return dotScores(histories, users, learner.itemMatrix(ctx.catalogue), ctx.catalogue.length, learner.cfg.outDim);
    },
    itemMatrix: () => ({ rows: learner.itemMatrix(ctx.catalogue), n: ctx.catalogue.length, dim: learner.cfg.outDim }),
    dispose: () => learner.dispose(),
  };
}

/** The frozen content vectors of the catalogue, in its order. */
export function contentMatrix(ctx: Pick<LooContext, 'content' | 'catalogue'>): ItemMatrix {
  const dim = ctx.content.dim as number;
  return { rows: stackRows(ctx.catalogue.map((id) => ctx.content.get(id) as Float32Array), dim), n: ctx.catalogue.length, dim };
}

/** The frozen content's cosine: the normalised mean of the history's content vectors against each item's. */
export function contentScores(ctx: Pick<LooContext, 'content' | 'catalogue'>, histories: readonly (readonly string[])[]): Float32Array[] {
  const dim = ctx.content.dim as number;
  const items = stackRows(ctx.catalogue.map((id) => ctx.content.get(id) as Float32Array), dim);
  return histories.map((h) => {
    const refs = refsOf(ctx.content, h);
    return refs.length === 0 ? new Float32Array(ctx.catalogue.length) : scoreRows(items, ctx.catalogue.length, dim, normalisedMean(refs.map((r) => r.content), dim));
  });
}

/** A method with nothing to train and one setting. */
abstract class FixedMethod implements LooMethod {
  abstract readonly name: LooMethodName;
  abstract readonly kind: LooKind;
  readonly trains = false;
  readonly stages = 1;
  constructor(protected readonly ctx: LooContext) {}
  abstract scores(histories: readonly (readonly string[])[]): Float32Array[];
  stage(): void {}
  describe(): Record<string, number> {
    return {};
  }
  dispose(): void {}
}

class ContentMethod extends FixedMethod {
  readonly name = 'content';
  readonly kind = 'history';
  scores(histories: readonly (readonly string[])[]): Float32Array[] {
    return contentScores(this.ctx, histories);
  }
  itemMatrix(): ItemMatrix {
    return contentMatrix(this.ctx);
  }
}

/** Popularity's own score is the prior (the protocol adds it): zeros here. */
class PopularityMethod extends FixedMethod {
  readonly name = 'popularity';
  readonly kind = 'popularity';
  scores(histories: readonly (readonly string[])[]): Float32Array[] {
    return histories.map(() => new Float32Array(this.ctx.catalogue.length));
  }
}

/**
 * Item-kNN over the histories it is asked to score: co-occurrence counted over every history of the phase (the
 * training sequences for validation, with the validation items for test), each user in order.
 */
class KnnMethod implements LooMethod {
  readonly name = 'knn';
  readonly kind = 'history';
  readonly trains = false;
  readonly stages = KNN_GRID.length;
  private options: ItemKnnOptions = KNN_GRID[0] as ItemKnnOptions;
  private readonly index: Map<string, number>;

  constructor(private readonly ctx: LooContext) {
    this.index = new Map(ctx.catalogue.map((id, i) => [id, i]));
  }

  stage(s: number): void {
    this.options = KNN_GRID[s] as ItemKnnOptions;
  }

  scores(histories: readonly (readonly string[])[]): Float32Array[] {
    const knn = new ItemKnn(this.options);
    histories.forEach((h, u) => h.forEach((item) => knn.observe(String(u), item)));
    return histories.map((h) => knn.scores(h, this.index, this.ctx.catalogue.length) ?? new Float32Array(this.ctx.catalogue.length));
  }

  describe(): Record<string, number> {
    return { ...this.options };
  }

  dispose(): void {}
}

export function looMethod(name: LooMethodName, ctx: LooContext, maxEpochs: number): LooMethod {
  switch (name) {
    case 'learn':
      return new EpochMethod('learn', 'content', learnLearner(ctx), ctx.cfg.batchUsers, maxEpochs);
    case 'sasrec':
      return new EpochMethod('sasrec', 'history', sasrecLearner(ctx), ctx.cfg.batchUsers, maxEpochs);
    case 'content':
      return new ContentMethod(ctx);
    case 'popularity':
      return new PopularityMethod(ctx);
    case 'knn':
      return new KnnMethod(ctx);
  }
}
