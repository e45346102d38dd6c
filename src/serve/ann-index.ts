import { rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { usableCpus } from '../ops/cpu-quota.js';
import { log } from '../ops/logger.js';
import { newUsearchIndex, type AnnBuildDone, type AnnBuildJob, type UsearchIndex } from './ann-graph.js';
import { annGraphPath, sweepStaleAnnGraphsOnce } from './ann-temp-files.js';

const l = log('serve.ann-index');

/**
 * An HNSW graph (usearch, inner product) over the rows of an item matrix, keyed by row number. It only proposes
 * candidates: ItemIndex re-ranks them exactly with the matrix, so a stale or approximate graph costs recall, never a
 * wrong score.
 */
export class AnnIndex {
  private readonly index: UsearchIndex;

  private constructor(readonly dim: number) {
    this.index = newUsearchIndex(dim);
  }

  /**
   * A graph of rows 0..n-1 of `rows` (row r at r * dim; the array moves to the building thread: pass a copy). It is
   * built on a worker thread in one batched native call over all but one core (one is left to the requests), saved
   * to a temporary file and loaded here: the event loop pays only for the load. Building in 256-row chunks on this
   * thread, one core, cost about 200 us of CPU an item at 20k items (2 min for 500k on an idle core, half an hour
   * on a loaded shared one), each chunk blocking the loop meanwhile.
   *
   * The first build of a process removes the graph files of dead processes (a build killed mid-way leaves its file).
   * `signal` abandons the build: the thread is terminated (it stops between its native batches) and no longer keeps
   * the process alive, and the file is removed now and again once the thread is gone.
   */
  static async build(rows: Float32Array, n: number, dim: number, signal?: AbortSignal): Promise<{ ann: AnnIndex; buildMs: number; loadMs: number }> {
    if (rows.length < n * dim) throw new Error(`AnnIndex.build: ${rows.length} floats for ${n} rows of ${dim}`);
    signal?.throwIfAborted();
    try {
      const removed = sweepStaleAnnGraphsOnce();
      if (removed.length > 0) l.info({ removed }, 'removed HNSW graph files of dead processes');
    } catch (err) {
      l.warn({ err }, 'could not sweep stale HNSW graph files');
    }
    const path = annGraphPath();
    const job: AnnBuildJob = { rows, n, dim, threads: Math.max(1, usableCpus() - 1), path };
    const removeFile = (): void => rmSync(path, { force: true });
    let abandon: (() => void) | undefined;
    try {
      const worker = new Worker(new URL('./ann-build-worker.js', import.meta.url), { workerData: job, transferList: [rows.buffer as ArrayBuffer] });
      // Also after an abandoned build: the thread may have been saving when told to stop.
      worker.once('exit', removeFile);
      const done = await new Promise<AnnBuildDone>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`HNSW build thread exited (${code}) before answering`)));
        abandon = () => {
          worker.unref();
          void worker.terminate();
          reject(signal?.reason ?? new Error('HNSW build abandoned'));
        };
        signal?.addEventListener('abort', abandon, { once: true });
      });
      if (!done.ok) throw new Error(`HNSW build failed: ${done.error}`);
      const loading = Date.now();
      const ann = new AnnIndex(dim);
      ann.index.load(path);
      return { ann, buildMs: done.ms, loadMs: Date.now() - loading };
    } finally {
      if (abandon) signal?.removeEventListener('abort', abandon);
      removeFile();
    }
  }

  get size(): number {
    return this.index.size();
  }

  /** Puts row `row`'s current vector in the graph (replacing what the row held). */
  upsert(row: number, vector: Float32Array): void {
    const key = BigInt(row);
    if (this.index.contains(key)) this.index.remove(key);
    this.index.add(key, vector);
  }

  remove(row: number): void {
    const key = BigInt(row);
    if (this.index.contains(key)) this.index.remove(key);
  }

  /** Up to `count` rows with the largest inner product with `query`, approximately. */
  candidates(query: Float32Array, count: number): number[] {
    const found = this.index.search(query, Math.min(count, this.index.size()), 1);
    return Array.from(found.keys, (k) => Number(k));
  }
}
