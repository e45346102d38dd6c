// The "SASRec-like" baseline: the same PAL transformer, loss and streaming schedule as LEARN, but items are
// trainable ID embeddings instead of frozen content vectors. It shows what content buys: an ID model knows
// nothing about an item until it has been trained on interactions with it.
import { buildPalBatch, idEmbeddings, palConfig, PalLearner, Rng, type ItemRef, type NegativePool, type PalConfig, type UserExample } from '../../../model/index.js';

/** One user's example by item id (history before the window, oldest first; targets in it). */
export interface IdExample {
  history: readonly string[];
  targets: readonly string[];
}

/**
 * The PAL learner with a trainable ID embedding table as its item input (src/model/item-input.ts). Row 0 of the
 * table is padding; item ids get rows in order of first sight, up to `capacity` items (the replay knows its catalogue
 * size up front, so the table and its optimizer moments never need to grow).
 */
export class IdSequenceLearner {
  readonly cfg: PalConfig;
  readonly capacity: number;
  private readonly learner: PalLearner;
  private readonly rng: Rng;
  private readonly rows = new Map<string, number>();
  lastLoss = 0;

  constructor(base: PalConfig, capacity: number, seed = 1) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.cfg = palConfig({ ...base, contentDim: base.dim });
    this.capacity = capacity;
    this.rng = new Rng(seed ^ 0x2545f491);
    this.learner = new PalLearner(this.cfg, seed + 7919, idEmbeddings(capacity, this.cfg.contentDim, this.rng));
  }

  get step(): number {
    return this.learner.step;
  }

  /** The table row of an item, assigned on first sight; 0 (padding) once the table is full. */
  rowOf(itemId: string): number {
    let r = this.rows.get(itemId);
    if (r === undefined) {
      if (this.rows.size >= this.capacity) return 0;
      r = this.rows.size + 1;
      this.rows.set(itemId, r);
    }
    return r;
  }

  /**
   * One all-action InfoNCE step on a window's examples (the trainer's schedule), with negatives sampled from the same
   * `catalogue` as LEARN's; returns the loss before it.
   */
  trainStep(examples: readonly IdExample[], catalogue?: NegativePool): number {
    const refs: UserExample[] = examples.map((e) => ({ history: e.history.map((id) => this.ref(id)), targets: e.targets.map((id) => this.ref(id)) }));
    const pool: NegativePool | undefined = catalogue && { size: catalogue.size, at: (i) => this.ref(catalogue.at(i).itemId) };
    // One float per item, its table row: the trainer's sampling, exactly.
    this.lastLoss = this.learner.trainStep(buildPalBatch(refs, this.cfg, this.rng, pool, 1));
    return this.lastLoss;
  }

  /** User vectors from histories of item ids (none empty), oldest first. */
  userVectors(histories: readonly (readonly string[])[]): Float32Array[] {
    return this.learner.userVectors(histories.map((h) => h.map((id) => Float32Array.of(this.rowOf(id)))));
  }

  /** Item vectors, flat [ids.length * outDim]. */
  itemMatrix(ids: readonly string[]): Float32Array {
    const d = this.cfg.outDim;
    const out = new Float32Array(ids.length * d);
    this.learner.itemVectors(ids.map((id) => Float32Array.of(this.rowOf(id)))).forEach((v, i) => out.set(v, i * d));
    return out;
  }

  dispose(): void {
    this.learner.dispose();
  }

  private ref(itemId: string): ItemRef {
    return { itemId, content: Float32Array.of(this.rowOf(itemId)) };
  }
}
