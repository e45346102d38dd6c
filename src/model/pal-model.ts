import * as tf from '@tensorflow/tfjs';
import type { PalConfig } from './config.js';
import { gelu, l2Normalize, layerNorm, matMul2d, oneHotFloat } from './ops.js';
import { Rng } from './rng.js';
import { checkShape, sizeOf, type NamedArrays } from './tensors.js';

/** A trainable weight: `name` is its stable checkpoint key; `decay` says whether AdamW's weight decay applies. */
export interface PalParameter {
  name: string;
  variable: tf.Variable;
  decay: boolean;
}

// Added to the attention scores of forbidden keys; exp() of it is exactly 0 in float32.
const MASKED_SCORE = -1e9;

let modelCounter = 0;

interface BlockParams {
  ln1Gamma: tf.Variable;
  ln1Beta: tf.Variable;
  wQkv: tf.Variable;
  bQkv: tf.Variable;
  wOut: tf.Variable;
  bOut: tf.Variable;
  ln2Gamma: tf.Variable;
  ln2Beta: tf.Variable;
  wFf1: tf.Variable;
  bFf1: tf.Variable;
  wFf2: tf.Variable;
  bFf2: tf.Variable;
}

/**
 * The preference-alignment tower of LEARN: content adapter (d_c -> d), learned positions, causal pre-LayerNorm
 * transformer blocks, final LayerNorm, projection to d_out, L2 normalisation.
 * One module is both towers (shared weights): an item vector is the tower on a one-item sequence, a user vector is
 * its output at the last valid position of the history.
 * There is no trainable gather anywhere (positions and selections are one-hot matmuls), so gradients run on every
 * backend, wasm included.
 */
export class PalModel {
  readonly cfg: PalConfig;
  private readonly params: PalParameter[] = [];
  private readonly rng: Rng;
  private readonly adapterW: tf.Variable;
  private readonly adapterB: tf.Variable;
  private readonly positions: tf.Variable;
  private readonly blocks: BlockParams[] = [];
  private readonly lnFinalGamma: tf.Variable;
  private readonly lnFinalBeta: tf.Variable;
  private readonly projW: tf.Variable;
  private readonly projB: tf.Variable;

  constructor(cfg: PalConfig, seed: number) {
    this.cfg = cfg;
    this.rng = new Rng(seed);
    // tfjs variable names are global to the engine: a per-instance prefix lets several models coexist.
    const prefix = `pal${modelCounter++}`;
    const { contentDim: dc, dim: d, ffDim: ff, outDim: dOut, maxHistory: L } = cfg;
    const add = (name: string, init: tf.Tensor, decay: boolean): tf.Variable => {
      const variable = tf.variable(init, true, `${prefix}/${name}`);
      init.dispose();
      this.params.push({ name, variable, decay });
      return variable;
    };
    const glorot = (fanIn: number, fanOut: number): tf.Tensor => {
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      const v = new Float32Array(fanIn * fanOut);
      for (let i = 0; i < v.length; i++) v[i] = (2 * this.rng.next() - 1) * limit;
      return tf.tensor2d(v, [fanIn, fanOut]);
    };
    const normal = (rows: number, cols: number, std: number): tf.Tensor => {
      const v = new Float32Array(rows * cols);
      for (let i = 0; i < v.length; i++) v[i] = this.rng.normal() * std;
      return tf.tensor2d(v, [rows, cols]);
    };

    this.adapterW = add('adapter/w', glorot(dc, d), true);
    this.adapterB = add('adapter/b', tf.zeros([d]), false);
    this.positions = add('positions', normal(L, d, 0.02), false);
    for (let l = 0; l < cfg.layers; l++) {
      const p = `block${l}`;
      this.blocks.push({
        ln1Gamma: add(`${p}/ln1/gamma`, tf.ones([d]), false),
        ln1Beta: add(`${p}/ln1/beta`, tf.zeros([d]), false),
        wQkv: add(`${p}/attn/w_qkv`, tf.concat([glorot(d, d), glorot(d, d), glorot(d, d)], 1), true),
        bQkv: add(`${p}/attn/b_qkv`, tf.zeros([3 * d]), false),
        wOut: add(`${p}/attn/w_out`, glorot(d, d), true),
        bOut: add(`${p}/attn/b_out`, tf.zeros([d]), false),
        ln2Gamma: add(`${p}/ln2/gamma`, tf.ones([d]), false),
        ln2Beta: add(`${p}/ln2/beta`, tf.zeros([d]), false),
        wFf1: add(`${p}/ff/w1`, glorot(d, ff), true),
        bFf1: add(`${p}/ff/b1`, tf.zeros([ff]), false),
        wFf2: add(`${p}/ff/w2`, glorot(ff, d), true),
        bFf2: add(`${p}/ff/b2`, tf.zeros([d]), false),
      });
    }
    this.lnFinalGamma = add('ln_final/gamma', tf.ones([d]), false);
    this.lnFinalBeta = add('ln_final/beta', tf.zeros([d]), false);
    this.projW = add('proj/w', glorot(d, dOut), true);
    this.projB = add('proj/b', tf.zeros([dOut]), false);
  }

  /** The trainable weights in a fixed order. */
  parameters(): readonly PalParameter[] {
    return this.params;
  }

  /**
   * Per-position outputs [B, T, d_out], L2-normalised. `mask` [B, T] is 1 at real items and 0 at padding, on either
   * side; padding never influences a real position, and position ids count from the first real item, so left and
   * right padding give the same outputs. With `training`, dropout is on (seeded from the model's generator).
   */
  encodeSequences(content: tf.Tensor3D, mask: tf.Tensor2D, training = false): tf.Tensor3D {
    return this.encode(content, mask, undefined, training);
  }

  /**
   * The outputs at chosen positions only, [B, Q, d_out]: exactly those of encodeSequences at `positions` [B, Q]
   * (int32 slots of each row). The last block then runs its queries, attention output and feed-forward for those
   * rows alone (keys and values still cover every slot), which is what the loss (sampled positions) and user vectors
   * (the last position) need.
   */
  encodeAt(content: tf.Tensor3D, mask: tf.Tensor2D, positions: tf.Tensor2D, training = false): tf.Tensor3D {
    checkShape('positions', [content.shape[0], positions.shape[1]], positions.shape);
    return this.encode(content, mask, positions, training);
  }

  /** User vectors [B, d_out]: the output at each row's last real position. */
  userVectors(content: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [B, T] = mask.shape;
      const last = tf.cast(tf.max(tf.mul(mask, tf.range(0, T, 1, 'float32')), 1, true), 'int32') as tf.Tensor2D;
      return tf.reshape(this.encode(content, mask, last, false), [B, this.cfg.outDim]) as tf.Tensor2D;
    });
  }

  /**
   * Item vectors [N, d_out]: the tower applied to one-item sequences. Attention over a single key is the identity on
   * its value, so each block computes only the value projection (no queries, keys, scores or softmax), and the
   * position is always the first.
   */
  itemVectors(content: tf.Tensor2D, training = false): tf.Tensor2D {
    const [N, dc] = content.shape;
    checkShape('content', [N, this.cfg.contentDim], [N, dc]);
    return tf.tidy(() => {
      const d = this.cfg.dim;
      const first = tf.slice(this.positions, [0, 0], [1, d]);
      let x = tf.add(tf.add(matMul2d(content, this.adapterW as tf.Tensor2D), this.adapterB), first) as tf.Tensor2D;
      for (const block of this.blocks) x = training ? this.itemBlock(x, block, true) : tf.tidy(() => this.itemBlock(x, block, false));
      x = layerNorm(x, this.lnFinalGamma, this.lnFinalBeta);
      return l2Normalize(tf.add(matMul2d(x, this.projW as tf.Tensor2D), this.projB));
    });
  }

  /** The general path of itemVectors (full attention on one-item sequences): kept to test the shortcut against. */
  itemVectorsGeneral(content: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [N] = content.shape;
      const out = this.encodeSequences(tf.expandDims(content, 1) as tf.Tensor3D, tf.ones([N, 1]));
      return tf.reshape(out, [N, this.cfg.outDim]) as tf.Tensor2D;
    });
  }

  getWeights(): NamedArrays {
    const out: NamedArrays = {};
    for (const p of this.params) out[p.name] = { shape: [...p.variable.shape], values: p.variable.dataSync() as Float32Array };
    return out;
  }

  /** Loads every weight; all names must be present with matching shapes (a mismatch leaves the model unchanged). */
  setWeights(weights: NamedArrays): void {
    for (const p of this.params) {
      const w = weights[p.name];
      if (!w) throw new Error(`checkpoint lacks weight ${p.name}`);
      checkShape(p.name, p.variable.shape, w.shape);
      if (w.values.length !== sizeOf(w.shape)) throw new Error(`${p.name}: ${w.values.length} values for shape [${w.shape.join(', ')}]`);
    }
    for (const p of this.params) {
      const w = weights[p.name] as NamedArrays[string];
      tf.tidy(() => p.variable.assign(tf.tensor(w.values, w.shape)));
    }
  }

  dispose(): void {
    for (const p of this.params) p.variable.dispose();
    this.params.length = 0;
  }

  private encode(content: tf.Tensor3D, mask: tf.Tensor2D, positions: tf.Tensor2D | undefined, training: boolean): tf.Tensor3D {
    const [B, T, dc] = content.shape;
    checkShape('content', [B, T, this.cfg.contentDim], [B, T, dc]);
    checkShape('mask', [B, T], mask.shape);
    if (T > this.cfg.maxHistory) throw new Error(`sequence length ${T} exceeds maxHistory ${this.cfg.maxHistory}`);
    const { outDim } = this.cfg;
    return tf.tidy(() => {
      let x = tf.add(matMul2d(tf.reshape(content, [B * T, dc]) as tf.Tensor2D, this.adapterW as tf.Tensor2D), this.adapterB) as tf.Tensor2D;
      x = tf.add(x, matMul2d(positionOneHot(mask, this.cfg.maxHistory), this.positions as tf.Tensor2D));
      const causal = causalMask(T);
      const bias = attentionBias(causal, mask);
      const query = positions ? queryRows(causal, mask, positions) : undefined;
      const last = this.blocks.length - 1;
      // Inference frees each block's intermediates as it goes (tidy would otherwise hold every block's until the
      // end, e.g. ~1 GB of wasm heap for 512 histories of 50); training keeps them for the backward pass.
      this.blocks.forEach((block, l) => {
        const q = l === last ? query : undefined;
        x = training ? this.block(x, block, bias, B, T, true, q) : tf.tidy(() => this.block(x, block, bias, B, T, false, q));
      });
      x = layerNorm(x, this.lnFinalGamma, this.lnFinalBeta);
      const out = l2Normalize(tf.add(matMul2d(x, this.projW as tf.Tensor2D), this.projB));
      return tf.reshape(out, [B, query ? query.count : T, outDim]) as tf.Tensor3D;
    });
  }

  /**
   * One pre-LayerNorm block over x [B*T, d]. With `query`, only its rows are queries and only they come out
   * ([B*Q, d]); keys and values are every slot's.
   */
  private block(x: tf.Tensor2D, p: BlockParams, bias: tf.Tensor4D, B: number, T: number, training: boolean, query?: QueryRows): tf.Tensor2D {
    const { dim: d, heads: H } = this.cfg;
    const dh = d / H;
    const h = layerNorm(x, p.ln1Gamma, p.ln1Beta);
    let q: tf.Tensor2D;
    let k: tf.Tensor2D;
    let v: tf.Tensor2D;
    let residual = x;
    if (query) {
      const kv = tf.add(matMul2d(h, tf.slice(p.wQkv as tf.Tensor2D, [0, d], [d, 2 * d])), tf.slice(p.bQkv, [d], [2 * d]));
      [k, v] = tf.split(kv, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
      q = tf.add(matMul2d(tf.gather(h, query.rows), tf.slice(p.wQkv as tf.Tensor2D, [0, 0], [d, d])), tf.slice(p.bQkv, [0], [d]));
      residual = tf.gather(x, query.rows);
    } else {
      [q, k, v] = tf.split(tf.add(matMul2d(h, p.wQkv as tf.Tensor2D), p.bQkv), 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
    }
    const Tq = query ? query.count : T;
    const heads = (t: tf.Tensor, rows: number): tf.Tensor4D => tf.transpose(tf.reshape(t, [B, rows, H, dh]), [0, 2, 1, 3]);
    // The 1/sqrt(dh) scale goes on the queries, the smaller tensor.
    const scores = tf.add(tf.matMul(heads(tf.mul(q, 1 / Math.sqrt(dh)), Tq), heads(k, T), false, true), query ? query.bias : bias);
    const ctx = tf.matMul(tf.softmax(scores), heads(v, T));
    const merged = tf.reshape(tf.transpose(ctx, [0, 2, 1, 3]), [B * Tq, d]) as tf.Tensor2D;
    const attn = this.dropout(tf.add(matMul2d(merged, p.wOut as tf.Tensor2D), p.bOut), training);
    return this.feedForward(tf.add(residual, attn) as tf.Tensor2D, p, training);
  }

  /** A block on one-item sequences: attention is the value projection (softmax over one key is 1). */
  private itemBlock(x: tf.Tensor2D, p: BlockParams, training: boolean): tf.Tensor2D {
    const d = this.cfg.dim;
    const h = layerNorm(x, p.ln1Gamma, p.ln1Beta);
    const v = tf.add(matMul2d(h, tf.slice(p.wQkv as tf.Tensor2D, [0, 2 * d], [d, d])), tf.slice(p.bQkv, [2 * d], [d])) as tf.Tensor2D;
    const attn = this.dropout(tf.add(matMul2d(v, p.wOut as tf.Tensor2D), p.bOut), training);
    return this.feedForward(tf.add(x, attn) as tf.Tensor2D, p, training);
  }

  private feedForward(x1: tf.Tensor2D, p: BlockParams, training: boolean): tf.Tensor2D {
    const h2 = layerNorm(x1, p.ln2Gamma, p.ln2Beta);
    const ff = tf.add(matMul2d(gelu(tf.add(matMul2d(h2, p.wFf1 as tf.Tensor2D), p.bFf1)) as tf.Tensor2D, p.wFf2 as tf.Tensor2D), p.bFf2);
    return tf.add(x1, this.dropout(ff, training)) as tf.Tensor2D;
  }

  private dropout(x: tf.Tensor, training: boolean): tf.Tensor {
    return training && this.cfg.dropout > 0 ? tf.dropout(x, this.cfg.dropout, undefined, this.rng.seed()) : x;
  }
}

/** One-hot position ids [B*T, L]: the count of real items before each slot, so padding does not shift positions. */
function positionOneHot(mask: tf.Tensor2D, maxHistory: number): tf.Tensor2D {
  const [B, T] = mask.shape;
  const ids = tf.clipByValue(tf.sub(tf.cumsum(mask, 1), 1), 0, maxHistory - 1);
  return oneHotFloat(tf.cast(tf.reshape(ids, [B * T]), 'int32') as tf.Tensor1D, maxHistory);
}

/** The rows of the last block's queries: their indices into [B*T] rows, count per sequence, and attention bias. */
interface QueryRows {
  rows: tf.Tensor1D;
  count: number;
  bias: tf.Tensor4D;
}

/** Lower-triangular ones [T, T]: query i may see key j <= i. */
function causalMask(T: number): tf.Tensor2D {
  const causal = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = 0; j <= i; j++) causal[i * T + j] = 1;
  return tf.tensor2d(causal, [T, T]);
}

/** Additive attention bias [B, 1, T, T]: 0 where query i may see key j (j <= i and j is real), a large negative elsewhere. */
function attentionBias(causal: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor4D {
  const [B, T] = mask.shape;
  const allowed = tf.mul(tf.reshape(causal, [1, 1, T, T]), tf.reshape(mask, [B, 1, 1, T]));
  return tf.mul(tf.sub(allowed, 1), -MASKED_SCORE) as tf.Tensor4D;
}

/** The query rows at `positions` [B, Q] (slots of each sequence) and their bias rows [B, 1, Q, T]. */
function queryRows(causal: tf.Tensor2D, mask: tf.Tensor2D, positions: tf.Tensor2D): QueryRows {
  const [B, T] = mask.shape;
  const Q = positions.shape[1];
  const slots = tf.reshape(tf.cast(positions, 'int32'), [B * Q]) as tf.Tensor1D;
  const rows = tf.add(slots, tf.reshape(tf.tile(tf.expandDims(tf.range(0, B * T, T, 'int32'), 1), [1, Q]), [B * Q])) as tf.Tensor1D;
  const allowed = tf.mul(tf.reshape(tf.gather(causal, slots), [B, 1, Q, T]), tf.reshape(mask, [B, 1, 1, T]));
  return { rows, count: Q, bias: tf.mul(tf.sub(allowed, 1), -MASKED_SCORE) as tf.Tensor4D };
}
