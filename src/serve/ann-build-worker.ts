import { parentPort, workerData } from 'node:worker_threads';
import { newUsearchIndex, type AnnBuildDone, type AnnBuildJob } from './ann-graph.js';

// Builds an HNSW graph in one batched, multi-threaded native call on this thread, so the serving thread's event loop
// never waits for it, then saves it for that thread to load (a native index cannot move between threads).
const port = parentPort;
if (!port) throw new Error('ann-build-worker runs as a worker thread');
const job = workerData as AnnBuildJob;
let done: AnnBuildDone;
try {
  const started = Date.now();
  const index = newUsearchIndex(job.dim);
  const keys = new BigUint64Array(job.n);
  for (let r = 0; r < job.n; r++) keys[r] = BigInt(r);
  index.add(keys, job.rows.subarray(0, job.n * job.dim), job.threads);
  index.save(job.path);
  done = { ok: true, ms: Date.now() - started };
} catch (err) {
  done = { ok: false, error: err instanceof Error ? err.message : String(err) };
}
port.postMessage(done);
