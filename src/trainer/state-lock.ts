import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { log } from '../ops/logger.js';

const LOCK_FILE = 'trainer.lock';
/** A lock file without a readable holder this old is a write cut short by a crash. */
const UNREADABLE_STALE_MS = 10_000;

const HolderSchema = z.object({ pid: z.number().int().positive(), host: z.string(), since: z.string() });
type Holder = z.infer<typeof HolderSchema>;

/** Another live trainer owns the state directory. */
export class StateDirLockedError extends Error {
  constructor(readonly path: string, readonly holder: Holder) {
    super(
      `the state directory is in use: ${path} is held by trainer pid ${holder.pid} on ${holder.host} since ${holder.since}. ` +
        'One trainer per LEARN_STATE_DIR: stop the other one, or give this one its own state directory' +
        (holder.host === hostname() ? '.' : ` (if nothing runs on ${holder.host} any more, remove the file).`),
    );
    this.name = 'StateDirLockedError';
  }
}

/** Lock files this process holds: a second trainer in the same process is refused too. */
const heldHere = new Set<string>();

/** Whether a process of this host is running (signal 0; EPERM: it exists, owned by someone else). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    const parsed = HolderSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An exclusive lock on a trainer's state directory: a file created with O_EXCL holding the owner's pid and host.
 * A lock whose process is gone (SIGKILL, crash, a container restarted with the same pid) is taken over.
 * A lock from another host cannot be checked: it is respected, unless the caller holds the pipeline's lease
 * (pipeline-lease.ts), which a live trainer on any host renews; then the file is a dead pod's (issue 23 §2).
 */
export class StateDirLock {
  private released = false;

  private constructor(readonly path: string) {}

  static acquire(dir: string, opts: { leaseHeld?: boolean } = {}): StateDirLock {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, LOCK_FILE);
    if (heldHere.has(path)) throw new StateDirLockedError(path, { pid: process.pid, host: hostname(), since: 'earlier in this process' });
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        try {
          writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() } satisfies Holder));
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        heldHere.add(path);
        return new StateDirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      }
      const holder = readHolder(path);
      if (holder) {
        const ours = holder.host === hostname();
        // Same host: a dead pid, or our own pid (a restarted container), is a stale lock.
        if (ours ? holder.pid !== process.pid && alive(holder.pid) : !opts.leaseHeld) throw new StateDirLockedError(path, holder);
      } else if (Date.now() - statSync(path).mtimeMs < UNREADABLE_STALE_MS) {
        throw new StateDirLockedError(path, { pid: 0, host: 'unknown', since: 'just now (lock file being written)' });
      }
      log('trainer.lock').warn({ path, holder }, holder && holder.host !== hostname() ? 'taking over the state directory lock of another host (this trainer holds the pipeline lease: that one is gone)' : 'taking over a stale state directory lock (its process is gone)');
      // Then O_EXCL once more. Two starters taking over the same stale lock in the same instant is the one race left.
      unlinkSync(path);
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.path);
    try {
      if (readHolder(this.path)?.pid === process.pid) unlinkSync(this.path);
    } catch {
      // Already gone: nothing to release.
    }
  }
}
