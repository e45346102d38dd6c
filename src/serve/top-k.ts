export interface Scored {
  index: number;
  score: number;
}

/**
 * The `k` best rows of `matrix` (n rows of `dim`) by inner product with `query` (plus `bias`), best first, skipping rows
 * for which `skip` is true. Exact brute force: one pass over the matrix and a size-k min-heap, fine up to
 * ~100k items x 64 dims per request. Past that, an ANN index (HNSW, e.g. hnswlib-node, or Redis' own
 * vector search) would replace this function behind ItemIndex.topK.
 */
export function topKInnerProduct(
  matrix: Float32Array,
  n: number,
  dim: number,
  query: Float32Array,
  k: number,
  skip: (row: number) => boolean,
  /** Added to each row's inner product (the served popularity prior, already weighted). */
  bias?: Float32Array,
): Scored[] {
  const heap: Scored[] = [];
  for (let row = 0; row < n; row++) {
    if (skip(row)) continue;
    let s = bias ? (bias[row] ?? 0) : 0;
    const base = row * dim;
    for (let j = 0; j < dim; j++) s += (matrix[base + j] ?? 0) * (query[j] ?? 0);
    if (heap.length < k) {
      heap.push({ index: row, score: s });
      siftUp(heap, heap.length - 1);
    } else if (worse(heap[0] as Scored, { index: row, score: s })) {
      heap[0] = { index: row, score: s };
      siftDown(heap, 0);
    }
  }
  return heap.sort((a, b) => (b.score !== a.score ? b.score - a.score : a.index - b.index));
}

/** a ranks below b: lower score, or the same score and a later row (ties go to the earlier row). */
function worse(a: Scored, b: Scored): boolean {
  return a.score < b.score || (a.score === b.score && a.index > b.index);
}

function siftUp(h: Scored[], i: number): void {
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!worse(h[i] as Scored, h[p] as Scored)) return;
    [h[i], h[p]] = [h[p] as Scored, h[i] as Scored];
    i = p;
  }
}

function siftDown(h: Scored[], i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < h.length && worse(h[l] as Scored, h[m] as Scored)) m = l;
    if (r < h.length && worse(h[r] as Scored, h[m] as Scored)) m = r;
    if (m === i) return;
    [h[i], h[m]] = [h[m] as Scored, h[i] as Scored];
    i = m;
  }
}
