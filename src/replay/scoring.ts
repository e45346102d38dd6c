// Dense scoring helpers shared by the replay's methods: every method ends in a score per candidate, and the
// rank is always taken by metrics.rankOf.

/**
 * Inner products of `query` with each row of `matrix` ([n * dim], row-major). Four rows at a time: four independent
 * sums instead of one latency-bound chain, each still added in the same order (float64, j ascending), so every score
 * is bit-identical to the one-row loop's and no rank can move.
 */
export function scoreRows(matrix: Float32Array, n: number, dim: number, query: Float32Array): Float32Array {
  if (query.length !== dim) throw new Error(`query has ${query.length} dims, expected ${dim}`);
  const out = new Float32Array(n);
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    const b0 = r * dim;
    const b1 = b0 + dim;
    const b2 = b1 + dim;
    const b3 = b2 + dim;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < dim; j++) {
      const q = query[j] as number;
      s0 += (matrix[b0 + j] as number) * q;
      s1 += (matrix[b1 + j] as number) * q;
      s2 += (matrix[b2 + j] as number) * q;
      s3 += (matrix[b3 + j] as number) * q;
    }
    out[r] = s0;
    out[r + 1] = s1;
    out[r + 2] = s2;
    out[r + 3] = s3;
  }
  for (; r < n; r++) {
    let s = 0;
    const base = r * dim;
    for (let j = 0; j < dim; j++) s += (matrix[base + j] as number) * (query[j] as number);
    out[r] = s;
  }
  return out;
}

/** Rows stacked into one flat matrix. */
export function stackRows(rows: readonly Float32Array[], dim: number): Float32Array {
  const out = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => out.set(r, i * dim));
  return out;
}

/** The L2-normalised mean of vectors (the paper's variant (c) user vector over frozen content); none may be missing. */
export function normalisedMean(vectors: readonly Float32Array[], dim: number): Float32Array {
  const out = new Float32Array(dim);
  for (const v of vectors) for (let j = 0; j < dim; j++) out[j] = (out[j] as number) + (v[j] as number);
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += (out[j] as number) ** 2;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let j = 0; j < dim; j++) out[j] = (out[j] as number) / norm;
  return out;
}
