import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

// The HNSW build thread saves its graph to a temporary file that the serving thread loads and removes. A process
// killed mid-build (SIGKILL, OOM) never removes it: hundreds of MB at 500k items, for good. Such files are named by the
// building process's pid, so a later build can tell them from a live process's.

const GRAPH_FILE = /^learn-ann-(\d+)-\d+-\d+\.usearch$/;
let builds = 0;
let swept = false;

/** A fresh temporary path for one build's graph, named by this process's pid. */
export function annGraphPath(dir = tmpdir()): string {
  return join(dir, `learn-ann-${process.pid}-${threadId}-${++builds}.usearch`);
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // EPERM: alive, another user's.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes the graph files in `dir` left by processes that no longer run; never this process's nor another live one's
 * (a recycled pid only keeps a stale file a while longer). Returns the paths removed.
 */
export function sweepStaleAnnGraphs(dir = tmpdir()): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(dir)) {
    const pid = Number(GRAPH_FILE.exec(name)?.[1] ?? 0);
    if (pid <= 0 || pid === process.pid || !processGone(pid)) continue;
    const path = join(dir, name);
    try {
      rmSync(path, { force: true });
      removed.push(path);
    } catch {
      // Another user's file in a sticky temp folder: theirs to remove.
    }
  }
  return removed;
}

/** sweepStaleAnnGraphs once per process, before its first build. */
export function sweepStaleAnnGraphsOnce(): string[] {
  if (swept) return [];
  swept = true;
  return sweepStaleAnnGraphs();
}
