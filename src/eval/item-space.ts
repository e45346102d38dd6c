// How spread out a method's item vectors are, and whether an item's nearest neighbours mean something: the check on
// "collapse", where every output shares one dominant direction (neighbours all at cosine 0.999, a user's scores over
// the catalogue in a narrow band). Pure logic over a row-major [n x dim] matrix in catalogue order; cosines throughout.

/** Item vectors, one row per catalogue item. */
export interface ItemMatrix {
  rows: Float32Array;
  n: number;
  dim: number;
}

/** What item-to-item quality is checked against: a label per item (undefined: none) and held-back (from, to) pairs. */
export interface NeighbourTruth {
  /** Per catalogue item, its category (or any label); items with none are not queried and never agree. */
  labels: readonly (string | undefined)[];
  /** Catalogue indices (a, b): b followed a in a history the vectors were not trained on. */
  pairs: readonly (readonly [number, number])[];
}

export interface ItemSpaceReport {
  /** Mean cosine over all pairs of distinct items (the expected cosine of a random pair). */
  meanPairCosine: number;
  /** Share of the vectors' energy (uncentred second moment) on its first direction: near 1 when all share one. */
  firstDirectionShare: number;
  /** Share of the variance about the mean on the first principal direction: one dominant axis of difference. */
  firstComponentShare: number;
  /** Mean cosine between an item and its k nearest neighbours. */
  neighbourCosine: number;
  /** Over items with a label: the mean share of their k nearest neighbours with the same label. */
  categoryAgreement: number;
  /** The same share for k random other items (exact expectation): what agreement means nothing beyond. */
  categoryBaseRate: number;
  /** Share of held-back pairs (a, b) with b among a's k nearest neighbours. */
  nextItemHit: number;
  /** How many pairs and labelled items the figures are over, and k. */
  pairs: number;
  labelled: number;
  k: number;
}

/** The rows scaled to unit length (a zero row stays zero). */
export function unitRows(m: ItemMatrix): ItemMatrix {
  const rows = new Float32Array(m.rows.length);
  for (let i = 0; i < m.n; i++) {
    let s = 0;
    for (let d = 0; d < m.dim; d++) s += (m.rows[i * m.dim + d] as number) ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < m.dim; d++) rows[i * m.dim + d] = (m.rows[i * m.dim + d] as number) * inv;
  }
  return { rows, n: m.n, dim: m.dim };
}

/** Mean cosine over ordered pairs i != j, exactly: (|sum u|^2 - sum |u|^2) / (n (n - 1)) for unit rows u. */
export function meanPairCosine(unit: ItemMatrix): number {
  const { rows, n, dim } = unit;
  if (n < 2) return 0;
  const sum = new Float64Array(dim);
  let self = 0;
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) {
      const v = rows[i * dim + d] as number;
      sum[d] = (sum[d] as number) + v;
      self += v * v;
    }
  }
  let total = 0;
  for (const s of sum) total += s * s;
  return (total - self) / (n * (n - 1));
}

/**
 * The largest eigenvalue's share of the trace of the [dim x dim] second-moment matrix of the rows (about their mean
 * when `centred`), by power iteration from a fixed start.
 */
export function firstDirectionShare(unit: ItemMatrix, centred: boolean, iterations = 200): number {
  const { rows, n, dim } = unit;
  const mean = new Float64Array(dim);
  if (centred) for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d] = (mean[d] as number) + (rows[i * dim + d] as number) / n;
  const c = new Float64Array(dim * dim);
  const x = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) x[d] = (rows[i * dim + d] as number) - (mean[d] as number);
    for (let a = 0; a < dim; a++) {
      const xa = x[a] as number;
      if (xa === 0) continue;
      for (let b = a; b < dim; b++) c[a * dim + b] = (c[a * dim + b] as number) + xa * (x[b] as number);
    }
  }
  // Only the upper triangle was summed: mirror it.
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) c[a * dim + b] = c[b * dim + a] as number;
  let trace = 0;
  for (let a = 0; a < dim; a++) trace += c[a * dim + a] as number;
  if (!(trace > 0)) return 0;
  // Start off every axis (a fixed, non-symmetric vector) so no eigenvector of a structured matrix is missed.
  let v = Float64Array.from({ length: dim }, (_, a) => 1 + a / dim);
  let lambda = 0;
  for (let it = 0; it < iterations; it++) {
    const w = new Float64Array(dim);
    for (let a = 0; a < dim; a++) {
      let s = 0;
      for (let b = 0; b < dim; b++) s += (c[a * dim + b] as number) * (v[b] as number);
      w[a] = s;
    }
    const norm = Math.sqrt(w.reduce((s, t) => s + t * t, 0));
    if (norm === 0) return 0;
    lambda = norm;
    v = w.map((t) => t / norm);
  }
  return lambda / trace;
}

/** Each item's k nearest other items by cosine (unit rows), nearest first, ties by catalogue order; and their cosines. */
export function nearestNeighbours(unit: ItemMatrix, k: number): { index: Int32Array; cosine: Float32Array; k: number } {
  const { rows, n, dim } = unit;
  const kk = Math.min(k, Math.max(0, n - 1));
  const index = new Int32Array(n * kk);
  const cosine = new Float32Array(n * kk);
  // Every cosine once (the matrix is symmetric): n^2 floats, 10 MB for a catalogue of 1,600.
  const all = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (rows[i * dim + d] as number) * (rows[j * dim + d] as number);
      all[i * n + j] = s;
      all[j * n + i] = s;
    }
  }
  for (let i = 0; i < n; i++) {
    const sims = all.subarray(i * n, (i + 1) * n);
    // A small sorted top list (insertion): k is 10, n a few thousand.
    const top: number[] = [];
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const s = sims[j] as number;
      if (top.length === kk && s <= (sims[top[kk - 1] as number] as number)) continue;
      let p = top.length;
      while (p > 0 && (sims[top[p - 1] as number] as number) < s) p--;
      top.splice(p, 0, j);
      if (top.length > kk) top.pop();
    }
    top.forEach((j, r) => {
      index[i * kk + r] = j;
      cosine[i * kk + r] = sims[j] as number;
    });
  }
  return { index, cosine, k: kk };
}

/** Spread and neighbour quality of item vectors against labels and held-back pairs, at k neighbours. */
export function itemSpaceReport(m: ItemMatrix, truth: NeighbourTruth, k = 10): ItemSpaceReport {
  if (truth.labels.length !== m.n) throw new Error(`itemSpaceReport: ${truth.labels.length} labels for ${m.n} items`);
  const unit = unitRows(m);
  const nn = nearestNeighbours(unit, k);
  const K = nn.k;
  let cosSum = 0;
  for (const c of nn.cosine) cosSum += c;
  // Label agreement over labelled items, and the chance of it: (items sharing the label - 1) / (n - 1).
  const counts = new Map<string, number>();
  for (const l of truth.labels) if (l !== undefined) counts.set(l, (counts.get(l) ?? 0) + 1);
  let agree = 0;
  let base = 0;
  let labelled = 0;
  for (let i = 0; i < m.n; i++) {
    const l = truth.labels[i];
    if (l === undefined || K === 0) continue;
    labelled++;
    let same = 0;
    for (let r = 0; r < K; r++) if (truth.labels[nn.index[i * K + r] as number] === l) same++;
    agree += same / K;
    base += ((counts.get(l) as number) - 1) / (m.n - 1);
  }
  let hits = 0;
  for (const [a, b] of truth.pairs) {
    for (let r = 0; r < K; r++) {
      if (nn.index[a * K + r] === b) {
        hits++;
        break;
      }
    }
  }
  return {
    meanPairCosine: meanPairCosine(unit),
    firstDirectionShare: firstDirectionShare(unit, false),
    firstComponentShare: firstDirectionShare(unit, true),
    neighbourCosine: nn.cosine.length > 0 ? cosSum / nn.cosine.length : 0,
    categoryAgreement: labelled > 0 ? agree / labelled : 0,
    categoryBaseRate: labelled > 0 ? base / labelled : 0,
    nextItemHit: truth.pairs.length > 0 ? hits / truth.pairs.length : 0,
    pairs: truth.pairs.length,
    labelled,
    k: K,
  };
}

/**
 * The category of a RecBole/UniSRec item text, "title. category path. brand. " (an empty field leaves ". ."): the
 * field before the brand, or undefined when empty or the text has fewer than three fields.
 */
export function uniSRecCategory(text: string): string | undefined {
  const fields = text.trimEnd().replace(/\.$/, '').split('. ');
  if (fields.length < 3) return undefined;
  const c = (fields[fields.length - 2] as string).trim();
  return c === '' ? undefined : c;
}
