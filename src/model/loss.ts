import * as tf from '@tensorflow/tfjs';
import { l2Normalize, matMul2d } from './ops.js';

// exp(-80) = 1.8e-35 is still a normal float32 (min 1.2e-38): the widest logit range a constant shift may span.
const MAX_CONSTANT_SHIFT_RANGE = 80;

/** One side of the all-action loss: vectors and the batch user (row index) each belongs to. */
export interface HistorySide {
  /** [R, d]: user-tower outputs at sampled history positions. */
  vectors: tf.Tensor2D;
  /** [R]: the user of each row; -1 marks a padding row that takes no part. */
  users: Int32Array;
}

/** Items sampled from the whole catalogue: extra negatives shared by every positive. */
export interface SampledSide {
  /** [N, d]: item-tower outputs of the sampled items. */
  vectors: tf.Tensor2D;
  /** [N]: their item ids; a sample equal to a positive's item is not its negative. */
  items: ReadonlyArray<string | number>;
}

export interface TargetSide {
  /** [M, d]: item-tower outputs of the sampled targets. */
  vectors: tf.Tensor2D;
  /** [M]: the user each target belongs to. */
  users: Int32Array;
  /** [M]: item ids, so that a repeat of the positive item is never used as its negative. */
  items: ReadonlyArray<string | number>;
}

/**
 * Dense all-action InfoNCE (PinnerFormer, as used by LEARN). Every (history row of user u, target of u) is a positive;
 * its negatives are the targets of the other users and the `sampled` catalogue items (mixed negative sampling),
 * except those with the positive's item id. Logits are cosine / temperature; the loss is the mean over positives of
 * -log softmax(positive among [positive, negatives]). Returns 0 when there is no positive.
 *
 * In-batch negatives alone are the items other users just interacted with, so they are popularity-biased and,
 * in a window of few users, few: the towers then never learn to tell apart the bulk of the catalogue that full-
 * catalogue retrieval ranks against. Uniform catalogue samples supply exactly that.
 *
 * Computed without a [positives x negatives] tensor: with E = exp(S - rowmax) (S: [R, M] logits) and the
 * symmetric negative mask Q[j, k] = [user k != user j][item k != item j], the negative mass of positive (i, j) is
 * (E Q)[i, j]; the sampled side adds (E_s Q_s)[i, j] with Q_s[k, j] = [item k != item j].
 */
export function allActionInfoNce(
  history: HistorySide,
  targets: TargetSide,
  temperature: number,
  sampled?: SampledSide,
  /** Added to every logit of a candidate column: the targets' [M] and the sampled items' [N] (the logQ correction). */
  columnBias?: { targets: Float32Array; sampled: Float32Array },
): tf.Scalar {
  const R = history.users.length;
  const M = targets.users.length;
  if (history.vectors.shape[0] !== R || targets.vectors.shape[0] !== M || targets.items.length !== M) {
    throw new Error('allActionInfoNce: vectors, users and items disagree in length');
  }
  const N = sampled?.items.length ?? 0;
  if (sampled && sampled.vectors.shape[0] !== N) throw new Error('allActionInfoNce: sampled vectors and items disagree in length');
  const positive = new Float32Array(R * M);
  let positives = 0;
  for (let i = 0; i < R; i++) {
    const u = history.users[i] as number;
    if (u < 0) continue;
    for (let j = 0; j < M; j++) {
      if (targets.users[j] === u) {
        positive[i * M + j] = 1;
        positives++;
      }
    }
  }
  if (positives === 0) return tf.scalar(0);
  const negative = new Float32Array(M * M);
  for (let j = 0; j < M; j++) {
    for (let k = 0; k < M; k++) {
      if (targets.users[k] !== targets.users[j] && targets.items[k] !== targets.items[j]) negative[j * M + k] = 1;
    }
  }
  const sampledNegative = new Float32Array(N * M);
  for (let k = 0; k < N; k++) {
    for (let j = 0; j < M; j++) if (sampled!.items[k] !== targets.items[j]) sampledNegative[k * M + j] = 1;
  }
  if (columnBias && (columnBias.targets.length !== M || columnBias.sampled.length !== N)) throw new Error('allActionInfoNce: column bias and candidates disagree in length');
  const biasRange = columnBias ? rangeOf([...columnBias.targets, ...columnBias.sampled]) : { min: 0, max: 0 };
  return tf.tidy(() => {
    const h = l2Normalize(history.vectors);
    const cosines = tf.div(matMul2d(h, tf.transpose(l2Normalize(targets.vectors))), temperature);
    const logits = columnBias ? tf.add(cosines, tf.tensor2d(columnBias.targets, [1, M])) : cosines;
    const sampledCosines = sampled && N > 0 ? tf.div(matMul2d(h, tf.transpose(l2Normalize(sampled.vectors))), temperature) : undefined;
    const sampledLogits = sampledCosines && columnBias ? tf.add(sampledCosines, tf.tensor2d(columnBias.sampled, [1, N])) : sampledCosines;
    // Any per-row shift cancels in the loss (value and gradient); it keeps exp() in range. Logits are cosines over
    // the temperature (plus the column bias), so 1/temperature (+ its largest bias) bounds them: a constant shift,
    // with no max (whose gradient is a slow broadcast Equal on wasm), whenever exp(-(range)) stays a normal float32;
    // the row max otherwise.
    const range = 2 / temperature + biasRange.max - biasRange.min;
    const rowMax = range <= MAX_CONSTANT_SHIFT_RANGE ? tf.scalar(1 / temperature + biasRange.max) : rowMaxOf(logits, sampledLogits);
    const shifted = tf.sub(logits, rowMax);
    const e = tf.exp(shifted);
    let negMass = matMul2d(e as tf.Tensor2D, tf.tensor2d(negative, [M, M]));
    if (sampledLogits) negMass = tf.add(negMass, matMul2d(tf.exp(tf.sub(sampledLogits, rowMax)) as tf.Tensor2D, tf.tensor2d(sampledNegative, [N, M])));
    const posMask = tf.tensor2d(positive, [R, M]);
    // Non-positive cells get +1 inside the log so that they stay finite before being masked away.
    const logDenominator = tf.log(tf.add(tf.add(e, negMass), tf.sub(1, posMask)));
    const perPair = tf.mul(tf.sub(logDenominator, shifted), posMask);
    return tf.div(tf.sum(perPair), positives) as tf.Scalar;
  });
}

function rowMaxOf(logits: tf.Tensor, sampledLogits: tf.Tensor | undefined): tf.Tensor {
  return sampledLogits ? tf.maximum(tf.max(logits, 1, true), tf.max(sampledLogits, 1, true)) : tf.max(logits, 1, true);
}

function rangeOf(xs: readonly number[]): { min: number; max: number } {
  let min = 0;
  let max = 0;
  if (xs.length > 0) {
    min = Infinity;
    max = -Infinity;
    for (const x of xs) {
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
  }
  return { min, max };
}

/**
 * The uniformity term of Wang and Isola (2020): log of the mean, over pairs of distinct valid rows, of
 * exp(-2 |x_i - x_j|^2) on unit vectors, i.e. exp(4 cos - 4). It is lowest when the vectors spread over the sphere,
 * and pushes apart outputs that all share one direction, which the contrastive loss alone barely penalises (every
 * logit moves together). `valid` (optional, 1 or 0 per row) leaves padding rows out; fewer than two valid rows: 0.
 * Written with a mask instead of a gather, so its gradient runs on every backend.
 */
export function uniformityLoss(vectors: tf.Tensor2D, valid?: Float32Array): tf.Scalar {
  const R = vectors.shape[0];
  const w = new Float32Array(R * R);
  let pairs = 0;
  for (let i = 0; i < R; i++) {
    if (valid && valid[i] === 0) continue;
    for (let j = 0; j < R; j++) {
      if (j === i || (valid && valid[j] === 0)) continue;
      w[i * R + j] = 1;
      pairs++;
    }
  }
  if (pairs === 0) return tf.scalar(0);
  return tf.tidy(() => {
    const x = l2Normalize(vectors);
    const cos = matMul2d(x, tf.transpose(x));
    const kernel = tf.exp(tf.sub(tf.mul(cos, 4), 4));
    return tf.log(tf.div(tf.sum(tf.mul(kernel, tf.tensor2d(w, [R, R]))), pairs)) as tf.Scalar;
  });
}
