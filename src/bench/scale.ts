import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { UserHistories } from '../learner/histories.js';
import type { NamedArrays } from '../model/index.js';
import { CheckpointStore } from '../trainer/checkpoint.js';

export interface ScaleOptions {
  users: number;
  /** Items per history (LEARN_HISTORY_LEN): every history is filled to it. */
  historyLen: number;
  /** Distinct item ids the histories draw from. */
  catalogue: number;
  /** Float32 values standing in for the weights and optimizer moments beside the state. */
  weightValues: number;
}

/** What `learn bench scale` prints. */
export interface ScaleResult {
  users: number;
  historyLen: number;
  catalogue: number;
  fillS: number;
  rssMiB: number;
  heapUsedMiB: number;
  /** Heap and buffers outside it (typed arrays) taken by the histories, per user. */
  bytesPerUser: number;
  checkpointBytes: number;
  /** From the call to the file renamed in place (what delays the offset commit). */
  checkpointMs: number;
  /** The part of it on the event loop: packing the ids, handing the state to the writing thread. */
  blockingMs: number;
  /** Event-loop delay while the checkpoint was written (on a busy machine, also time the process was not scheduled): what the consumer, the publisher and the probes wait. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Reading the newest checkpoint back and rebuilding the histories. */
  restoreMs: number;
  restoredUsers: number;
  rssPeakMiB: number;
}

/** `global.gc`, reached without a command-line flag: the memory figures are taken after a full collection. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => {
    gc();
    gc();
  };
}

const mib = (b: number): number => Math.round(b / 1_048_576);
const usedBytes = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/**
 * Synthetic histories of `users` users, full to `historyLen` items, checkpointed once (timing the write and the
 * event-loop delay meanwhile) and restored: the trainer's state at a million users without Kafka or a model.
 */
export async function benchScale(o: ScaleOptions): Promise<ScaleResult> {
  const gc = collector();
  let rssPeak = 0;
  const peak = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 50);
  gc();
  const before = usedBytes();
  const started = performance.now();
  const h = new UserHistories(o.historyLen, o.users);
  const items = Array.from({ length: o.catalogue }, (_, i) => `item-${i}`);
  for (let u = 0; u < o.users; u++) {
    const list: string[] = [];
    for (let j = 0; j < o.historyLen; j++) list.push(items[(u * 7919 + j * 104_729) % o.catalogue]!);
    h.append(`user-${u}`, list, 1_700_000_000_000 + u);
  }
  const fillS = (performance.now() - started) / 1000;
  gc();
  const after = usedBytes();
  const mem = process.memoryUsage();

  const dir = mkdtempSync(join(tmpdir(), 'learn-bench-scale-'));
  try {
    const store = new CheckpointStore<{ histories: unknown; step: number }>(dir, 2);
    const arrays: NamedArrays = { 'w/all': { shape: [o.weightValues], values: new Float32Array(o.weightValues).fill(0.5) } };
    // A 1 ms timer: how late each tick comes while the checkpoint runs is what the consumer, the publisher and
    // the probes would wait (measured by hand: a histogram's timer misses one long block at its start).
    const gaps: number[] = [];
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      gaps.push(now - last);
      last = now;
    }, 1);
    await new Promise((r) => setTimeout(r, 100));
    gaps.length = 0;
    const t0 = performance.now();
    // As the trainer does: the histories as views of their shared arrays, the rest handed over to the thread.
    const written = store.write({ state: { histories: h.pin(), step: 1 }, arrays }, { handOver: true });
    const blockingMs = performance.now() - t0;
    await written;
    h.unpin();
    const checkpointMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 20));
    clearInterval(tick);
    gaps.sort((a, b) => a - b);
    const lateMs = (q: number): number => Math.round(((gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))] ?? 0) - 1) * 100) / 100;
    const file = readdirSync(dir).find((f) => f.endsWith('.bin'));
    const checkpointBytes = file ? statSync(join(dir, file)).size : 0;

    const t1 = performance.now();
    const back = store.loadLatest();
    if (!back) throw new Error('the checkpoint did not load back');
    const restored = UserHistories.restore(back.state.histories as Parameters<typeof UserHistories.restore>[0], o.historyLen, o.users);
    const restoreMs = performance.now() - t1;
    await store.close();
    clearInterval(peak);
    return {
      users: o.users,
      historyLen: o.historyLen,
      catalogue: o.catalogue,
      fillS: Math.round(fillS * 10) / 10,
      rssMiB: mib(mem.rss),
      heapUsedMiB: mib(mem.heapUsed),
      bytesPerUser: Math.round((after - before) / o.users),
      checkpointBytes,
      checkpointMs: Math.round(checkpointMs),
      blockingMs: Math.round(blockingMs),
      loopDelayP99Ms: lateMs(0.99),
      loopDelayMaxMs: lateMs(1),
      restoreMs: Math.round(restoreMs),
      restoredUsers: restored.size,
      rssPeakMiB: mib(rssPeak),
    };
  } finally {
    clearInterval(peak);
    rmSync(dir, { recursive: true, force: true });
  }
}
