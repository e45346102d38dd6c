// Dense scoring helpers shared by the replay's methods: every method ends in a score per candidate, and the
// rank is always taken by metrics.rankOf.

/** Inner products of `query` with each row of `matrix` ([n * dim], row-major). */
export function scoreRows(matrix: Float32Array, n: number, dim: number, query: Float32Array): Float32Array {
  if (query.length !== dim) throw new Error(`query has ${query.length} dims, expected ${dim}`);
  const out = new Float32Array(n);
  for (let r = 0; r < n; r++) {
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
