// The "SASRec-like" baseline: the same PAL transformer, loss and streaming schedule as LEARN, but items are
// trainable ID embeddings instead of frozen content vectors. It shows what content buys: an ID model knows
// nothing about an item until it has been trained on interactions with it.
import * as tf from '@tensorflow/tfjs';
import {
  AdamW,
  allActionInfoNce,
  buildPalBatch,
  hasNegatives,
  palConfig,
  PalModel,
  Rng,
  userChunkRows,
  type ItemRef,
  type NegativePool,
  type PalConfig,
  type PalParameter,
  type UserExample,
} from '../model/index.js';

/** One user's example by item id (history before the window, oldest first; targets in it). */
export interface IdExample {
  history: readonly string[];
  targets: readonly string[];
}

// tfjs variable names are global to the engine: a counter keeps several learners apart.
let learnerCounter = 0;

/**
 * Row 0 of the embedding table is padding; item ids get rows in order of first sight, up to `capacity` items
 * (the replay knows its catalogue size up front, so the table and its optimizer moments never need to grow).
 * Training gathers rows with tf.gather inside the gradient: on wasm that needs the UnsortedSegmentSum kernel
 * that selectBackend registers (src/model/wasm-kernels.ts).
 */
export class IdSequenceLearner {
  readonly cfg: PalConfig;
  readonly model: PalModel;
  readonly capacity: number;
  private readonly table: tf.Variable;
  private readonly optimizer: AdamW;
  private readonly rng: Rng;
  /** buildPalBatch with one "content" float per item: its table row. Reuses the trainer's sampling exactly. */
  private readonly indexCfg: PalConfig;
  private readonly rows = new Map<string, number>();
  lastLoss = 0;

  constructor(base: PalConfig, capacity: number, seed = 1) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    const embDim = base.dim;
    this.cfg = palConfig({ ...base, contentDim: embDim });
    this.indexCfg = { ...this.cfg, contentDim: 1 };
    this.capacity = capacity;
    this.model = new PalModel(this.cfg, seed + 7919);
    this.rng = new Rng(seed ^ 0x2545f491);
    // Rows of about unit norm, like the L2-normalised content vectors they stand in for.
    const init = new Float32Array((capacity + 1) * embDim);
    for (let i = embDim; i < init.length; i++) init[i] = this.rng.normal() / Math.sqrt(embDim);
    this.table = tf.variable(tf.tensor2d(init, [capacity + 1, embDim]), true, `sasrec${learnerCounter++}/item_embeddings`);
    const params: PalParameter[] = [...this.model.parameters(), { name: 'item_embeddings', variable: this.table, decay: false }];
    this.optimizer = new AdamW(params, { learningRate: base.learningRate, weightDecay: base.weightDecay, clipNorm: base.clipNorm });
  }

  get step(): number {
    return this.optimizer.step;
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
    const batch = buildPalBatch(refs, this.indexCfg, this.rng, pool);
    if (!hasNegatives(batch)) return 0;
    const { users: B, seqLen: T, historySamples: Nh } = batch;
    const d = this.cfg.contentDim;
    // The loss needs the tower only at the sampled positions (unused slots read slot 0; their user is -1).
    const samplePositions = Int32Array.from(batch.samplePositions, (p) => Math.max(0, p));
    const historyUsers = Int32Array.from(batch.samplePositions, (p, i) => (p < 0 ? -1 : Math.floor(i / Nh)));
    const result = tf.tidy(() => {
      const historyRows = tf.tensor1d(Int32Array.from(batch.historyContent), 'int32');
      const targetRows = tf.tensor1d(Int32Array.from(batch.targetContent), 'int32');
      const negativeRows = batch.negativeItems.length > 0 ? tf.tensor1d(Int32Array.from(batch.negativeContent), 'int32') : undefined;
      const mask = tf.tensor2d(batch.historyMask, [B, T]);
      const positions = tf.tensor2d(samplePositions, [B, Nh], 'int32');
      const trainable = [...this.model.parameters().map((p) => p.variable), this.table];
      const { value, grads } = tf.variableGrads(() => {
        const content = tf.reshape(tf.gather(this.table, historyRows), [B, T, d]) as tf.Tensor3D;
        const picked = tf.reshape(this.model.encodeAt(content, mask, positions, true), [B * Nh, this.cfg.outDim]) as tf.Tensor2D;
        const targetVectors = this.model.itemVectors(tf.gather(this.table, targetRows) as tf.Tensor2D, true);
        return allActionInfoNce(
          { vectors: picked, users: historyUsers },
          { vectors: targetVectors, users: batch.targetUsers, items: batch.targetItems },
          this.cfg.temperature,
          negativeRows ? { vectors: this.model.itemVectors(tf.gather(this.table, negativeRows) as tf.Tensor2D, true), items: batch.negativeItems } : undefined,
        );
      }, trainable);
      const norm = this.optimizer.applyGradients(grads);
      return tf.stack([value, norm]);
    });
    const [loss] = result.dataSync();
    result.dispose();
    this.lastLoss = loss as number;
    return this.lastLoss;
  }

  /** User vectors from histories of item ids (none empty), oldest first; in bounded chunks (see userChunkRows). */
  userVectors(histories: readonly (readonly string[])[]): Float32Array[] {
    const rows = userChunkRows(histories.reduce((m, h) => Math.max(m, Math.min(h.length, this.cfg.maxHistory)), 1));
    const out: Float32Array[] = [];
    for (let start = 0; start < histories.length; start += rows) out.push(...this.userVectorChunk(histories.slice(start, start + rows)));
    return out;
  }

  private userVectorChunk(histories: readonly (readonly string[])[]): Float32Array[] {
    if (histories.length === 0) return [];
    const L = this.cfg.maxHistory;
    const cut = histories.map((h) => h.slice(-L));
    const T = cut.reduce((m, h) => Math.max(m, h.length), 0);
    const rows = new Int32Array(cut.length * T);
    const mask = new Float32Array(cut.length * T);
    cut.forEach((h, b) => {
      if (h.length === 0) throw new Error('a user vector needs at least one history item');
      const offset = T - h.length;
      h.forEach((id, i) => {
        rows[b * T + offset + i] = this.rowOf(id);
        mask[b * T + offset + i] = 1;
      });
    });
    const t = tf.tidy(() => {
      const content = tf.reshape(tf.gather(this.table, tf.tensor1d(rows, 'int32')), [cut.length, T, this.cfg.contentDim]) as tf.Tensor3D;
      return this.model.userVectors(content, tf.tensor2d(mask, [cut.length, T]));
    });
    return splitRows(t);
  }

  /** Item vectors, flat [ids.length * outDim]. */
  itemMatrix(ids: readonly string[]): Float32Array {
    if (ids.length === 0) return new Float32Array(0);
    const rows = Int32Array.from(ids, (id) => this.rowOf(id));
    const t = tf.tidy(() => this.model.itemVectors(tf.gather(this.table, tf.tensor1d(rows, 'int32')) as tf.Tensor2D));
    const out = t.dataSync() as Float32Array;
    t.dispose();
    return out;
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
    this.table.dispose();
  }

  private ref(itemId: string): ItemRef {
    return { itemId, content: Float32Array.of(this.rowOf(itemId)) };
  }
}

function splitRows(t: tf.Tensor2D): Float32Array[] {
  const [n, d] = t.shape;
  const all = t.dataSync() as Float32Array;
  t.dispose();
  return Array.from({ length: n }, (_, i) => all.slice(i * d, (i + 1) * d));
}
