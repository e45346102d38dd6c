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
  /** How the negative mass is summed: 'auto' picks 'segments' for a grown window (see negativeMassForm). */
  form: NegativeMassForm = 'auto',
): tf.Scalar {
  const R = history.users.length;
  const M = targets.users.length;
  if (history.vectors.shape[0] !== R || targets.vectors.shape[0] !== M || targets.items.length !== M) {
    throw new Error('allActionInfoNce: vectors, users and items disagree in length');
  }
  const N = sampled?.items.length ?? 0;
  if (sampled && sampled.vectors.shape[0] !== N) throw new Error('allActionInfoNce: sampled vectors and items disagree in length');
  if (columnBias && (columnBias.targets.length !== M || columnBias.sampled.length !== N)) throw new Error('allActionInfoNce: column bias and candidates disagree in length');
  const biasRange = columnBias ? rangeOf([...columnBias.targets, ...columnBias.sampled]) : { min: 0, max: 0 };
  // Logits are cosines over the temperature (plus the column bias), so this bounds their spread.
  const range = 2 / temperature + biasRange.max - biasRange.min;
  if (negativeMassForm(form, M, range) === 'segments') return segmentedInfoNce(history, targets, temperature, sampled, columnBias && { ...columnBias, max: biasRange.max });
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
  return tf.tidy(() => {
    const h = l2Normalize(history.vectors);
    const cosines = tf.div(matMul2d(h, tf.transpose(l2Normalize(targets.vectors))), temperature);
    const logits = columnBias ? tf.add(cosines, tf.tensor2d(columnBias.targets, [1, M])) : cosines;
    const sampledCosines = sampled && N > 0 ? tf.div(matMul2d(h, tf.transpose(l2Normalize(sampled.vectors))), temperature) : undefined;
    const sampledLogits = sampledCosines && columnBias ? tf.add(sampledCosines, tf.tensor2d(columnBias.sampled, [1, N])) : sampledCosines;
    // Any per-row shift cancels in the loss (value and gradient); it keeps exp() in range. 1/temperature (+ the
    // largest bias) bounds the logits: a constant shift, with no max (whose gradient is a slow broadcast Equal on
    // wasm), whenever exp(-(range)) stays a normal float32; the row max otherwise.
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

/**
 * 'dense': the [M, M] negative mask, O(R M^2) work and M^2 floats, the form every window up to
 * DENSE_MASK_MAX_TARGETS targets takes (replays and normal live windows: their numbers stay bit for bit).
 * 'segments': the same sums by inclusion-exclusion over segment sums, O(R M) (a grown live window: at 4,096 targets
 * the dense mask alone is 64 MB and its products 130 GFLOP a step). 'auto' picks by M and by the logits' range.
 */
export type NegativeMassForm = 'auto' | 'dense' | 'segments';

/** Up to this many targets the loss sums negatives through the dense mask (its cost is then below the towers'). */
export const DENSE_MASK_MAX_TARGETS = 512;

/**
 * The widest logit range (2 / temperature plus the column bias's spread) the segment form takes. Its totals less the
 * excluded parts cancel: where the excluded candidates (up to e^0 each) dominate a total and the negatives left sit
 * at the far end (e^-range each), the relative error grows like float32 epsilon times e^range (about 2% at 12, before
 * the summation's own error). At the default temperature 0.2 (range 10) the test and a native run at 4,096 targets
 * agree with the dense form to 1e-5 in value and 3e-6 in gradients. Wider (a lower temperature, or a logQ bias whose
 * spread adds a few nats): the dense form, O(R M^2) again.
 */
const SEGMENT_MAX_LOGIT_RANGE = 12;

function negativeMassForm(form: NegativeMassForm, targets: number, logitRange: number): 'dense' | 'segments' {
  if (form === 'segments' && logitRange > SEGMENT_MAX_LOGIT_RANGE) {
    throw new Error(`allActionInfoNce: the segment form needs a logit range of at most ${SEGMENT_MAX_LOGIT_RANGE}, got ${logitRange}`);
  }
  if (form !== 'auto') return form;
  return targets > DENSE_MASK_MAX_TARGETS && logitRange <= SEGMENT_MAX_LOGIT_RANGE ? 'segments' : 'dense';
}

/** Dense ids 0..count-1 for the distinct keys of `keys`, in first-seen order. */
function segmentIds<K>(keys: readonly K[]): { ids: Int32Array; count: number } {
  const index = new Map<K, number>();
  const ids = new Int32Array(keys.length);
  keys.forEach((k, j) => {
    let id = index.get(k);
    if (id === undefined) {
      id = index.size;
      index.set(k, id);
    }
    ids[j] = id;
  });
  return { ids, count: index.size };
}

/**
 * The dense loss's value with O(R M) work and memory: the loss reads the negative mass only at the P positive pairs
 * (row i of user u, target j of u), and there it is
 *   total_i - (u's targets)_i - (targets with j's item)_i + (u's targets with j's item)_i
 * over the targets' E = exp(logit - shift), plus the sampled side's total less the sample of j's item (if any). The
 * first and third parts are sums over positive pairs themselves; only the same-item sums need segment sums over all
 * targets ([items, R]). Equal to the dense form to float32 rounding of the totals (tested): every E is at most 1.
 */
function segmentedInfoNce(
  history: HistorySide,
  targets: TargetSide,
  temperature: number,
  sampled: SampledSide | undefined,
  /** With `max`, the largest bias of either side. */
  columnBias: { targets: Float32Array; sampled: Float32Array; max: number } | undefined,
): tf.Scalar {
  const R = history.users.length;
  const M = targets.users.length;
  const N = sampled?.items.length ?? 0;
  const targetsOf = new Map<number, number[]>();
  targets.users.forEach((u, j) => {
    const list = targetsOf.get(u);
    if (list) list.push(j);
    else targetsOf.set(u, [j]);
  });
  const pairRows: number[] = [];
  const pairTargets: number[] = [];
  history.users.forEach((u, i) => {
    if (u < 0) return;
    for (const j of targetsOf.get(u) ?? []) {
      pairRows.push(i);
      pairTargets.push(j);
    }
  });
  const P = pairRows.length;
  if (P === 0) return tf.scalar(0);
  const byItem = segmentIds(targets.items);
  const itemOfPair = pairTargets.map((j) => byItem.ids[j] as number);
  // Positive pairs of one row whose targets share an item: the "both" part.
  const byRowItem = segmentIds(pairRows.map((i, p) => i * byItem.count + (itemOfPair[p] as number)));
  const bySample = segmentIds(sampled?.items ?? []);
  const sampleSegment = new Map<string | number, number>();
  sampled?.items.forEach((item, k) => sampleSegment.set(item, bySample.ids[k] as number));
  const int = (xs: ArrayLike<number>): tf.Tensor1D => tf.tensor1d(Int32Array.from(xs), 'int32');
  return tf.tidy(() => {
    const h = l2Normalize(history.vectors);
    // Unit vectors over the temperature on the target side: one [M, R] product gives logits, one add the shift.
    const t = tf.div(l2Normalize(targets.vectors), temperature) as tf.Tensor2D;
    const hT = tf.transpose(h) as tf.Tensor2D;
    const shift = 1 / temperature + (columnBias?.max ?? 0);
    const targetOffset = tf.tensor2d(Float32Array.from(columnBias?.targets ?? new Float32Array(M), (b) => b - shift), [M, 1]);
    // Target-major [M, R]: segment sums run along axis 0. The constant shift keeps every exp() a normal float32.
    const e = tf.exp(tf.add(matMul2d(t, hT), targetOffset));
    const rows = int(pairRows);
    const pairShifted = tf.add(tf.sum(tf.mul(tf.gather(t, int(pairTargets)), tf.gather(h, rows)), 1), tf.gather(tf.reshape(targetOffset, [M]), int(pairTargets)));
    const pairE = tf.exp(pairShifted);
    const ofRow = tf.gather(tf.unsortedSegmentSum(pairE, rows, R), rows);
    const ofRowItem = tf.gather(tf.unsortedSegmentSum(pairE, int(byRowItem.ids), byRowItem.count), int(byRowItem.ids));
    const flatAt = (segments: number[]): tf.Tensor1D => int(segments.map((s, p) => s * R + (pairRows[p] as number)));
    const itemSums = tf.reshape(tf.unsortedSegmentSum(e, int(byItem.ids), byItem.count), [byItem.count * R]);
    const ofItem = tf.gather(itemSums, flatAt(itemOfPair));
    let negMass = tf.add(tf.sub(tf.sub(tf.gather(tf.sum(e, 0), rows), ofRow), ofItem), ofRowItem);
    if (sampled && N > 0) {
      const s = tf.div(l2Normalize(sampled.vectors), temperature) as tf.Tensor2D;
      const sampledOffset = tf.tensor2d(Float32Array.from(columnBias?.sampled ?? new Float32Array(N), (b) => b - shift), [N, 1]);
      const es = tf.exp(tf.add(matMul2d(s, hT), sampledOffset));
      const sampleOfPair = pairTargets.map((j) => sampleSegment.get(targets.items[j] as string | number) ?? 0);
      const hasSample = Float32Array.from(pairTargets, (j) => (sampleSegment.has(targets.items[j] as string | number) ? 1 : 0));
      const sampleSums = tf.reshape(tf.unsortedSegmentSum(es, int(bySample.ids), bySample.count), [bySample.count * R]);
      const ofSample = tf.mul(tf.gather(sampleSums, flatAt(sampleOfPair)), tf.tensor1d(hasSample));
      negMass = tf.add(negMass, tf.sub(tf.gather(tf.sum(es, 0), rows), ofSample));
    }
    // Rounding of the totals may leave a hair below 0 where nothing is left.
    const logDenominator = tf.log(tf.add(pairE, tf.relu(negMass)));
    return tf.div(tf.sum(tf.sub(logDenominator, pairShifted)), P) as tf.Scalar;
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
