/**
 * Turns a [batch, seq, hidden] hidden-state tensor into one L2-normalised vector per row.
 * mean: average over positions where the attention mask is 1 (the LEARN paper's CEX pooling);
 * cls: the first position (BERT-style models trained that way, e.g. BGE);
 * last-token: the last position whose mask is 1 (decoder LLMs, whose last token has seen the whole text).
 */
export const POOLING_MODES = ['mean', 'cls', 'last-token'] as const;
export type Pooling = (typeof POOLING_MODES)[number];

export interface HiddenStates {
  data: Float32Array;
  batch: number;
  seq: number;
  hidden: number;
}

/** `mask` is row-major [batch, seq], 1 for real tokens and 0 for padding. */
export function poolHiddenStates(h: HiddenStates, mask: ArrayLike<number | bigint>, mode: Pooling): Float32Array[] {
  const { data, batch, seq, hidden } = h;
  if (data.length !== batch * seq * hidden) {
    throw new Error(`hidden states hold ${data.length} values, expected ${batch}x${seq}x${hidden}`);
  }
  if (mask.length !== batch * seq) throw new Error(`attention mask holds ${mask.length} values, expected ${batch}x${seq}`);
  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const v = new Float32Array(hidden);
    const row = b * seq;
    if (mode === 'cls') {
      v.set(data.subarray(row * hidden, (row + 1) * hidden));
    } else if (mode === 'last-token') {
      let last = 0;
      for (let s = 0; s < seq; s++) if (Number(mask[row + s]) !== 0) last = s;
      v.set(data.subarray((row + last) * hidden, (row + last + 1) * hidden));
    } else {
      let count = 0;
      for (let s = 0; s < seq; s++) {
        if (Number(mask[row + s]) === 0) continue;
        count++;
        const off = (row + s) * hidden;
        for (let k = 0; k < hidden; k++) v[k]! += data[off + k]!;
      }
      if (count > 0) for (let k = 0; k < hidden; k++) v[k]! /= count;
    }
    out.push(l2Normalise(v));
  }
  return out;
}

/** Scales in place to unit length; a zero vector stays zero rather than becoming NaN. */
export function l2Normalise(v: Float32Array): Float32Array {
  let sq = 0;
  for (let k = 0; k < v.length; k++) sq += v[k]! * v[k]!;
  const n = Math.sqrt(sq);
  if (n > 0) for (let k = 0; k < v.length; k++) v[k]! /= n;
  return v;
}
