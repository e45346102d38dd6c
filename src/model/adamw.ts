import * as tf from '@tensorflow/tfjs';
import { checkShape, sizeOf, type NamedArrays } from './tensors.js';

export interface AdamWOptions {
  learningRate: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0 turns clipping off. */
  clipNorm: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** A weight the optimizer updates; `decay: false` exempts it from weight decay (biases, LayerNorm, embeddings). */
export interface OptimizedParameter {
  name: string;
  variable: tf.Variable;
  decay: boolean;
}

/** Step count and both moments per parameter name: everything needed to resume exactly. */
export interface AdamWState {
  step: number;
  m: NamedArrays;
  v: NamedArrays;
}

/**
 * Scales the gradients so their joint L2 norm is at most `clipNorm` (unchanged when already below, or when
 * clipNorm is 0). Returns the clipped gradients and the norm before clipping.
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], clipNorm: number): { clipped: tf.Tensor[]; norm: tf.Scalar } {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
    if (clipNorm <= 0) return { clipped: grads.map((g) => tf.clone(g)), norm };
    const scale = tf.div(clipNorm, tf.maximum(norm, clipNorm));
    return { clipped: grads.map((g) => tf.mul(g, scale)), norm };
  });
}

/**
 * AdamW (Loshchilov & Hutter) with decoupled weight decay, in PyTorch's form:
 *   w <- w - lr * wd * w;  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
 *   w <- w - lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 * with gradients first clipped to a global norm. tfjs ships Adam only, and its moments are awkward to checkpoint;
 * these moments are plain variables with stable names.
 */
export class AdamW {
  readonly learningRate: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  private stepCount = 0;
  private readonly slots: Array<{ param: OptimizedParameter; m: tf.Variable; v: tf.Variable }>;

  constructor(params: readonly OptimizedParameter[], opts: AdamWOptions) {
    this.learningRate = opts.learningRate;
    this.weightDecay = opts.weightDecay;
    this.clipNorm = opts.clipNorm;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.epsilon = opts.epsilon ?? 1e-8;
    this.slots = params.map((param) => ({
      param,
      m: tf.variable(tf.zerosLike(param.variable), false),
      v: tf.variable(tf.zerosLike(param.variable), false),
    }));
  }

  get step(): number {
    return this.stepCount;
  }

  /**
   * One update from gradients keyed by tfjs variable name (as `tf.variableGrads` returns them). A parameter with no
   * gradient counts as a zero gradient. Returns the global gradient norm before clipping (caller disposes).
   */
  applyGradients(grads: tf.NamedTensorMap): tf.Scalar {
    this.stepCount++;
    const t = this.stepCount;
    const lr = this.learningRate;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    return tf.tidy(() => {
      const raw = this.slots.map((s) => grads[s.param.variable.name] ?? tf.zerosLike(s.param.variable));
      const { clipped, norm } = clipByGlobalNorm(raw, this.clipNorm);
      this.slots.forEach((s, i) => {
        const g = clipped[i] as tf.Tensor;
        const m = tf.add(tf.mul(s.m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(s.v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        s.m.assign(m);
        s.v.assign(v);
        let w: tf.Tensor = s.param.variable;
        if (s.param.decay && this.weightDecay > 0) w = tf.mul(w, 1 - lr * this.weightDecay);
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), this.epsilon));
        s.param.variable.assign(tf.sub(w, tf.mul(update, lr)));
      });
      return norm;
    });
  }

  /**
   * Pads the moments of every parameter whose variable grew along its first axis (a growing embedding table) with
   * zero rows, so the rows already trained keep their moments.
   */
  resizeMoments(): void {
    for (const s of this.slots) {
      const want = s.param.variable.shape;
      if (s.m.shape[0] === want[0]) continue;
      if (want.length !== s.m.shape.length || want.slice(1).some((d, i) => d !== s.m.shape[i + 1]) || (want[0] ?? 0) < (s.m.shape[0] ?? 0)) {
        throw new Error(`${s.param.name}: moments [${s.m.shape.join(', ')}] cannot grow to [${want.join(', ')}]`);
      }
      for (const kind of ['m', 'v'] as const) {
        const old = s[kind];
        s[kind] = tf.tidy(() => tf.variable(tf.concat([old, tf.zeros([(want[0] ?? 0) - (old.shape[0] ?? 0), ...want.slice(1)])], 0), false));
        old.dispose();
      }
    }
  }

  getState(): AdamWState {
    const m: NamedArrays = {};
    const v: NamedArrays = {};
    for (const s of this.slots) {
      m[s.param.name] = { shape: [...s.m.shape], values: s.m.dataSync() as Float32Array };
      v[s.param.name] = { shape: [...s.v.shape], values: s.v.dataSync() as Float32Array };
    }
    return { step: this.stepCount, m, v };
  }

  /** Restores moments and step count; every parameter must be present with its shape. */
  setState(state: AdamWState): void {
    for (const s of this.slots) {
      for (const [kind, table] of [['m', state.m], ['v', state.v]] as const) {
        const a = table[s.param.name];
        if (!a) throw new Error(`optimizer state lacks ${kind} for ${s.param.name}`);
        checkShape(`${kind}/${s.param.name}`, s.param.variable.shape, a.shape);
        if (a.values.length !== sizeOf(a.shape)) throw new Error(`${kind}/${s.param.name}: wrong value count`);
      }
    }
    for (const s of this.slots) {
      const m = state.m[s.param.name] as NamedArrays[string];
      const v = state.v[s.param.name] as NamedArrays[string];
      tf.tidy(() => {
        s.m.assign(tf.tensor(m.values, m.shape));
        s.v.assign(tf.tensor(v.values, v.shape));
      });
    }
    this.stepCount = state.step;
  }

  dispose(): void {
    for (const s of this.slots) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.length = 0;
  }
}
