import * as tf from '@tensorflow/tfjs';
import { AdamW, type AdamWState } from './adamw.js';
import { packHistories, type PalBatch } from './batch.js';
import type { PalConfig } from './config.js';
import { frozenContent, type ItemInput } from './item-input.js';
import { allActionInfoNce, uniformityLoss } from './loss.js';
import { PalModel } from './pal-model.js';
import { Rng } from './rng.js';
import { checkShape, type NamedArrays } from './tensors.js';

/** Everything that must be checkpointed to resume training exactly (besides the data position). */
export interface LearnerState {
  config: PalConfig;
  weights: NamedArrays;
  optimizer: AdamWState;
}

// Checkpoint names of the item input's weights (beside the tower's).
const INPUT_PREFIX = 'input/';

// Rows per inference call: bounds the memory of scoring a whole catalogue.
const INFERENCE_CHUNK = 512;
/**
 * Sequence positions (rows x history length) per user-vector call. The wasm heap never shrinks, so its size is the
 * largest call's peak: ~25 KB per position at the default sizes, so 4096 positions keep it near 100 MB.
 */
export const INFERENCE_POSITIONS = 4096;

/** Rows per user-vector call for histories up to `seqLen` long. */
export function userChunkRows(seqLen: number): number {
  return Math.max(1, Math.floor(INFERENCE_POSITIONS / Math.max(1, seqLen)));
}

/**
 * The PAL tower with its item input and AdamW optimizer: the unit the streaming trainer drives (frozen content: LEARN)
 * and the SASRec-like baseline reuses (trainable ID embeddings). It owns a seeded generator for batch sampling and
 * dropout, so a run is reproducible from (config, seed, data). cfg.contentDim is the tower's input width.
 */
export class PalLearner {
  readonly cfg: PalConfig;
  readonly model: PalModel;
  readonly optimizer: AdamW;
  /** Seeded sampling for buildPalBatch. */
  readonly rng: Rng;
  /** How often each item has been a target so far, and all targets: the logQ correction's popularity estimate. */
  private readonly targetCounts = new Map<string, number>();
  private targetTotal = 0;

  constructor(
    cfg: PalConfig,
    seed = 1,
    private readonly input: ItemInput = frozenContent(cfg.contentDim),
  ) {
    this.cfg = cfg;
    this.rng = new Rng(seed ^ 0x5bd1e995);
    this.model = new PalModel(cfg, seed);
    this.optimizer = new AdamW([...this.model.parameters(), ...input.parameters()], {
      learningRate: cfg.learningRate,
      weightDecay: cfg.weightDecay,
      clipNorm: cfg.clipNorm,
    });
  }

  /**
   * The logQ correction's columns (PalConfig.logQ): minus logQ times the log of each candidate's expected count among
   * the step's candidates, M targets drawn by popularity (each item's share of the targets seen before this step,
   * add-one smoothed) plus N uniform samples of the pool. Undefined when off.
   */
  private logQBias(batch: PalBatch): { targets: Float32Array; sampled: Float32Array } | undefined {
    const weight = this.cfg.logQ ?? 0;
    if (weight === 0) return undefined;
    const M = batch.targetItems.length;
    const N = batch.negativeItems.length;
    const uniform = batch.poolSize > 0 ? N / batch.poolSize : 0;
    const denominator = this.targetTotal + Math.max(batch.poolSize, 1);
    const bias = (item: string): number => -weight * Math.log((M * ((this.targetCounts.get(item) ?? 0) + 1)) / denominator + uniform);
    return { targets: Float32Array.from(batch.targetItems, bias), sampled: Float32Array.from(batch.negativeItems, bias) };
  }

  /** Optimizer steps taken so far (also the model version's natural counter). */
  /**
   * Steps not applied because their loss or a gradient was not finite (a numerical blow-up): the weights and the
   * optimizer's moments stay as they were, so no NaN reaches a vector.
   */
  skippedSteps = 0;

  get step(): number {
    return this.optimizer.step;
  }

  /**
   * Forward, all-action loss, backward and one AdamW update. Returns the loss before the update. A batch with nothing
   * to contrast (one user and no sampled negatives) is not applied, and its loss (0) is returned; one whose loss or
   * gradients are not finite is not applied either (counted in `skippedSteps`), and NaN is returned.
   */
  trainStep(batch: PalBatch): number {
    if (!hasNegatives(batch)) return 0;
    const bias = this.logQBias(batch);
    if (bias) {
      for (const item of batch.targetItems) this.targetCounts.set(item, (this.targetCounts.get(item) ?? 0) + 1);
      this.targetTotal += batch.targetItems.length;
    }
    const { value, check, grads } = tf.tidy(() => {
      const { value, grads } = this.lossAndGrads(batch, bias);
      // NaN or Inf in the loss or any gradient (or a squared norm past float32) makes this sum non-finite.
      const check = tf.addN([value, ...Object.values(grads).map((g) => tf.sum(tf.square(g)))]);
      return { value, check, grads };
    });
    const finite = Number.isFinite(check.dataSync()[0]);
    if (finite) {
      tf.tidy(() => {
        this.optimizer.applyGradients(grads);
      });
    }
    else this.skippedSteps++;
    const [loss] = value.dataSync();
    tf.dispose([value, check, grads]);
    return finite ? (loss as number) : Number.NaN;
  }

  /**
   * The loss and each parameter's gradient for a batch, applying nothing (the logQ counts are not advanced either):
   * what a step would see. For checks such as backend agreement; dropout still draws from the model's own seed.
   */
  gradients(batch: PalBatch): { loss: number; grads: Record<string, Float32Array> } {
    const names = [...this.model.parameters(), ...this.input.parameters()].map((p) => [p.variable.name, p.name] as const);
    return tf.tidy(() => {
      const { value, grads } = this.lossAndGrads(batch, this.logQBias(batch));
      const out: Record<string, Float32Array> = {};
      for (const [variable, name] of names) {
        const g = grads[variable];
        if (g !== undefined) out[name] = g.dataSync() as Float32Array;
      }
      return { loss: value.dataSync()[0] as number, grads: out };
    });
  }

  /** Forward, all-action loss and backward, inside the caller's tidy. */
  private lossAndGrads(batch: PalBatch, bias: { targets: Float32Array; sampled: Float32Array } | undefined): { value: tf.Scalar; grads: tf.NamedTensorMap } {
    const { users: B, seqLen: T, contentDim: f, historySamples: Nh } = batch;
    if (f !== this.input.floatsPerItem) throw new Error(`batch has ${f} floats per item, the item input reads ${this.input.floatsPerItem}`);
    const mask = tf.tensor2d(batch.historyMask, [B, T]);
    const M = batch.targetItems.length;
    const N = batch.negativeItems.length;
    // Targets and sampled negatives go through the item tower in one call (one set of larger matmuls).
    const itemContent = new Float32Array((M + N) * f);
    itemContent.set(batch.targetContent);
    itemContent.set(batch.negativeContent, M * f);
    // The loss needs the tower only at the sampled positions (unused slots read slot 0; their user is -1).
    const positions = tf.tensor2d(Int32Array.from(batch.samplePositions, (p) => Math.max(0, p)), [B, Nh], 'int32');
    const historyUsers = Int32Array.from(batch.samplePositions, (p, i) => (p < 0 ? -1 : Math.floor(i / Nh)));
    const trainable = [...this.model.parameters(), ...this.input.parameters()].map((p) => p.variable);
    const uniformity = this.cfg.uniformity ?? 0;
    const validRows = Float32Array.from(historyUsers, (u) => (u < 0 ? 0 : 1));
    return tf.variableGrads(() => {
      // The item input is inside the gradient: a trainable one (ID embeddings) learns with the tower.
      const content = tf.reshape(this.input.embed(batch.historyContent, B * T), [B, T, this.cfg.contentDim]) as tf.Tensor3D;
      const picked = tf.reshape(this.model.encodeAt(content, mask, positions, true), [B * Nh, this.cfg.outDim]) as tf.Tensor2D;
      const itemVectors = this.model.itemVectors(this.input.embed(itemContent, M + N), true);
      const targetVectors = tf.slice(itemVectors, [0, 0], [M, this.cfg.outDim]);
      const contrastive = allActionInfoNce(
        { vectors: picked, users: historyUsers },
        { vectors: targetVectors, users: batch.targetUsers, items: batch.targetItems },
        this.cfg.temperature,
        N > 0 ? { vectors: tf.slice(itemVectors, [M, 0], [N, this.cfg.outDim]), items: batch.negativeItems } : undefined,
        bias,
      );
      if (uniformity === 0) return contrastive;
      // Both towers' outputs: items (targets and sampled negatives) and the users' sampled history positions.
      const spread = tf.mul(tf.add(uniformityLoss(itemVectors), uniformityLoss(picked, validRows)), 0.5);
      return tf.add(contrastive, tf.mul(spread, uniformity)) as tf.Scalar;
    }, trainable);
  }

  /** User vectors (d_out each, unit length) from histories of items (their input floats), oldest first; none may be empty. */
  userVectors(histories: readonly (readonly Float32Array[])[]): Float32Array[] {
    const out: Float32Array[] = [];
    const rows = userChunkRows(histories.reduce((m, h) => Math.max(m, Math.min(h.length, this.cfg.maxHistory)), 1));
    for (let start = 0; start < histories.length; start += rows) {
      const chunk = histories.slice(start, start + rows);
      const { content, mask, seqLen } = packHistories(chunk, this.input.floatsPerItem, this.cfg.maxHistory);
      const t = tf.tidy(() => {
        const x = tf.reshape(this.input.embed(content, chunk.length * seqLen), [chunk.length, seqLen, this.cfg.contentDim]) as tf.Tensor3D;
        return this.model.userVectors(x, tf.tensor2d(mask, [chunk.length, seqLen]));
      });
      out.push(...splitRows(t));
    }
    return out;
  }

  /** Item vectors (d_out each, unit length) from items' input floats. */
  itemVectors(contents: readonly Float32Array[]): Float32Array[] {
    const dc = this.input.floatsPerItem;
    const out: Float32Array[] = [];
    for (let start = 0; start < contents.length; start += INFERENCE_CHUNK) {
      const chunk = contents.slice(start, start + INFERENCE_CHUNK);
      const flat = new Float32Array(chunk.length * dc);
      chunk.forEach((c, i) => {
        if (c.length !== dc) throw new Error(`content vector has ${c.length} dims, expected ${dc}`);
        flat.set(c, i * dc);
      });
      const t = tf.tidy(() => this.model.itemVectors(this.input.embed(flat, chunk.length)));
      out.push(...splitRows(t));
    }
    return out;
  }

  /** The item input's floats per item (what userVectors and itemVectors take for each item). */
  get floatsPerItem(): number {
    return this.input.floatsPerItem;
  }

  /** Makes room for `rows` rows of a growing item input (the hybrid residual table), moments included. */
  reserveItemRows(rows: number): void {
    if (this.input.reserve?.(rows)) this.optimizer.resizeMoments();
  }

  /** Weights of the tower and, under `input/`, of the item input (none for frozen content), and the optimizer. */
  getState(): LearnerState {
    return { config: { ...this.cfg }, weights: this.weights(), optimizer: this.optimizer.getState() };
  }

  /** Weights of the tower and, under `input/`, of the item input: what vectors are computed from (no optimizer). */
  weights(): NamedArrays {
    const weights = this.model.getWeights();
    for (const p of this.input.parameters()) weights[`${INPUT_PREFIX}${p.name}`] = { shape: [...p.variable.shape], values: p.variable.dataSync() as Float32Array };
    return weights;
  }

  /**
   * Sets the tower's and the item input's weights (a snapshot from `weights()`), the optimizer untouched: an inference
   * copy follows a learner that trains elsewhere. A growing item input is first grown to the snapshot's rows.
   */
  setWeights(weights: NamedArrays): void {
    const inputs = this.input.parameters();
    for (const p of inputs) {
      const w = weights[`${INPUT_PREFIX}${p.name}`];
      if (!w) throw new Error(`weights lack ${INPUT_PREFIX}${p.name}`);
      this.reserveItemRows((w.shape[0] ?? 1) - 1);
      checkShape(`${INPUT_PREFIX}${p.name}`, p.variable.shape, w.shape);
    }
    this.model.setWeights(weights);
    for (const p of inputs) {
      const w = weights[`${INPUT_PREFIX}${p.name}`] as NamedArrays[string];
      tf.tidy(() => p.variable.assign(tf.tensor(w.values, w.shape)));
    }
  }

  /**
   * Restores weights and optimizer; the state's sizes must match this learner's config. A growing item input is first
   * grown to the saved table's rows.
   */
  setState(state: LearnerState): void {
    this.setWeights(state.weights);
    this.optimizer.setState(state.optimizer);
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
    this.input.dispose();
  }
}

/**
 * Whether a batch can train: it needs a positive and something to contrast it with, i.e. a second user (in-batch
 * negatives) or sampled catalogue negatives.
 */
export function hasNegatives(batch: PalBatch): boolean {
  return batch.users > 0 && batch.targetItems.length > 0 && (batch.users >= 2 || batch.negativeItems.length > 0);
}

/** Copies a [N, D] tensor out as N independent rows and disposes it. */
function splitRows(t: tf.Tensor2D): Float32Array[] {
  const [n, d] = t.shape;
  const all = t.dataSync() as Float32Array;
  t.dispose();
  return Array.from({ length: n }, (_, i) => all.slice(i * d, (i + 1) * d));
}
