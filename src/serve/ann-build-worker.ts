import { parentPort, workerData } from 'node:worker_threads';
import { newUsearchIndex, type AnnBuildDone, type AnnBuildJob } from './ann-graph.js';

// Builds an HNSW graph in one batched, multi-threaded native call on this thread, so the serving thread's event loop
// never waits for it, then saves it for that thread to load (a native index cannot move between threads).
const port = parentPort;
if (!port) throw new Error('ann-build-worker runs as a worker thread');
const job = workerData as AnnBuildJob;
const BATCH_ROWS = 8192;
let done: AnnBuildDone;
try {
  const started = Date.now();
  const index = newUsearchIndex(job.dim);
  const keys = new BigUint64Array(job.n);
  for (let r = 0; r < job.n; r++) keys[r] = BigInt(r);
  // In batches, each still over every thread: a terminated build stops at the next batch (termination cannot cut a
  // native call short), so an abandoned build never holds the process for more than one batch.
  for (let from = 0; from < job.n; from += BATCH_ROWS) {
    const to = Math.min(job.n, from + BATCH_ROWS);
    index.add(keys.subarray(from, to), job.rows.subarray(from * job.dim, to * job.dim), job.threads);
  }
  index.save(job.path);
  done = { ok: true, ms: Date.now() - started };
} catch (err) {
  done = { ok: false, error: err instanceof Error ? err.message : String(err) };
}
port.postMessage(done);
