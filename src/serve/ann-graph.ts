// The HNSW graph's settings and the build thread's job and answer: what the serving thread (ann-index.ts) and the
// build thread (ann-build-worker.ts) share, so neither imports the other.
import usearch from 'usearch';

const { Index, MetricKind, ScalarKind } = usearch;

/**
 * HNSW graph degree and beam widths. A search beam of 128 gave recall@10 0.945 on 10k Gaussian 64-d vectors (100
 * candidates), 512 gave 1.0. The build beam sets the build's cost and recall: 64 instead of 128 took 152 instead of
 * 254 us of CPU an item at 100k such vectors, but recall@10 at 500k fell from 0.832 to 0.776 (`learn bench serve`).
 */
const CONNECTIVITY = 16;
const EXPANSION_ADD = 128;
const EXPANSION_SEARCH = 512;

export type UsearchIndex = InstanceType<typeof Index>;

/** An empty usearch index with the graph's settings (the same on both threads). */
export function newUsearchIndex(dim: number): UsearchIndex {
  return new Index({
    dimensions: dim,
    metric: MetricKind.IP,
    quantization: ScalarKind.F32,
    connectivity: CONNECTIVITY,
    expansion_add: EXPANSION_ADD,
    expansion_search: EXPANSION_SEARCH,
    multi: false,
  });
}

/** What the serving thread hands over: the rows to index (row r at r * dim) and where to save the graph. */
export interface AnnBuildJob {
  rows: Float32Array;
  n: number;
  dim: number;
  threads: number;
  path: string;
}

export type AnnBuildDone = { ok: true; ms: number } | { ok: false; error: string };
