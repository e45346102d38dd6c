import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config/load.js';
import { armFaultHang, armFaultKill, hangPoint } from '../ops/fault-injection.js';
import { writeCheckpointFile, type Checkpoint } from './checkpoint-file.js';

/** A checkpoint to write: what the store posts to its thread. */
export interface CheckpointJob {
  dir: string;
  keep: number;
  checkpoint: Checkpoint<unknown>;
}

/** The thread's answer, once the file is renamed in place and the folder synced (or why not). */
export type CheckpointDone = { seq: number; error?: undefined } | { seq: number; error: string };

// The thread that serialises and writes checkpoints, so the trainer's event loop (consumer, publisher, probes) runs
// meanwhile. The role's LEARN_FAULT_KILL_AT travels here: checkpoint-write is reached on this thread.
const faults = workerData as { faultKill: Config['faultKillAt']; faultHang: Config['faultHangAt'] };
armFaultKill(faults.faultKill);
armFaultHang(faults.faultHang);
const port = parentPort;
if (!port) throw new Error('checkpoint-worker runs as a worker thread');
port.on('message', (job: CheckpointJob) => {
  let done: CheckpointDone;
  hangPoint('checkpoint-write'); // LEARN_FAULT_HANG_AT: the trainer's watchdog must fail the role
  try {
    writeCheckpointFile(job.dir, job.keep, job.checkpoint);
    done = { seq: job.checkpoint.seq };
  } catch (err) {
    done = { seq: job.checkpoint.seq, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(done);
});
