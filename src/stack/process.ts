import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A background service the stack started: its pid lives in a file so that `down` stops exactly it. Every file of one
 * instance is named by its port, so two port settings sharing one stack folder never share a file.
 */
export interface ManagedProcess {
  name: string;
  pidFile: string;
  logFile: string;
  /** Strings of which one must appear in /proc/PID/cmdline: guards against a recycled pid. */
  cmdlineMarks: string[];
  /**
   * The pid file of the layout before files were named by port (one per service, whatever the port). A server started
   * under it is still ours to stop: adopted once when its cmdline carries one of `cmdlineMarks` and it listens on `port`.
   */
  legacy?: { pidFile: string; cmdlineMarks: string[]; port: number };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The process's arguments joined by spaces, padded with one on each side so a mark can end at a word's end. */
function cmdline(pid: number): string {
  try {
    return ` ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')} `;
  } catch {
    return '';
  }
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

const isOurs = (pid: number, marks: string[]): boolean => isAlive(pid) && marks.some((m) => cmdline(pid).includes(m));

/** Whether `pid` holds a TCP socket listening on `port` (Linux /proc; false where it cannot tell). */
export function listensOn(pid: number, port: number): boolean {
  let sockets: Set<string>;
  try {
    const links = readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return '';
      }
    });
    sockets = new Set(links.flatMap((t) => /^socket:\[(\d+)\]$/.exec(t)?.[1] ?? []));
  } catch {
    return false;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['tcp', 'tcp6']) {
    let rows: string[];
    try {
      rows = readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const row of rows) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode; st 0A is LISTEN.
      const f = row.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A' && sockets.has(f[9] ?? '')) return true;
    }
  }
  return false;
}

/**
 * The pid of our live process, or undefined (a stale pid file is removed). Without a pid file of its own, a server
 * of the legacy layout on this port is adopted: its pid moves to this instance's file, so `down` stops it once.
 */
export function runningPid(p: ManagedProcess): number | undefined {
  const pid = readPid(p.pidFile);
  if (pid !== undefined && (isOurs(pid, p.cmdlineMarks) || isAdoptedLegacy(pid, p))) return pid;
  rmSync(p.pidFile, { force: true });
  return adoptLegacy(p);
}

/** A legacy-layout server adopted earlier: it carries the legacy mark (not this layout's) and listens on our port. */
function isAdoptedLegacy(pid: number, p: ManagedProcess): boolean {
  return p.legacy !== undefined && isOurs(pid, p.legacy.cmdlineMarks) && listensOn(pid, p.legacy.port);
}

function adoptLegacy(p: ManagedProcess): number | undefined {
  if (!p.legacy) return undefined;
  const { pidFile, cmdlineMarks, port } = p.legacy;
  const pid = readPid(pidFile);
  if (pid === undefined || !isAlive(pid)) {
    rmSync(pidFile, { force: true });
    return undefined;
  }
  // A live process of another port (or not ours at all) is left alone, and so is its file: its own port's stack finds it.
  if (!isOurs(pid, cmdlineMarks) || !listensOn(pid, port)) return undefined;
  mkdirSync(dirname(p.pidFile), { recursive: true });
  renameSync(pidFile, p.pidFile);
  return pid;
}

/** Starts a detached process that outlives this one, logging to its log file. */
export function startDetached(p: ManagedProcess, command: string, args: string[], cwd: string): number {
  mkdirSync(dirname(p.logFile), { recursive: true });
  const out = openSync(p.logFile, 'a');
  try {
    const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', out, out] });
    if (child.pid === undefined) throw new Error(`${p.name}: could not start ${command}`);
    child.unref();
    writeFileSync(p.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

/** SIGTERM, then SIGKILL after the grace period; returns once the process is gone. */
export async function stopProcess(p: ManagedProcess, graceMs: number): Promise<'stopped' | 'killed' | 'not-running'> {
  const pid = runningPid(p);
  if (pid === undefined) return 'not-running';
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) break;
    await sleep(200);
  }
  let how: 'stopped' | 'killed' = 'stopped';
  if (isAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    how = 'killed';
    while (isAlive(pid)) await sleep(50);
  }
  rmSync(p.pidFile, { force: true });
  return how;
}

/** The last lines of a log file, for error messages when a service fails to start. */
export function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Polls `probe` until it resolves true; fails early when the process died, or at the deadline. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; alive?: () => boolean; logFile?: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (opts.alive && !opts.alive()) {
      throw new Error(`${what} exited during start-up; last log lines:\n${opts.logFile ? tail(opts.logFile) : ''}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} did not answer within ${opts.timeoutMs} ms${opts.logFile ? `; see ${opts.logFile}` : ''}`);
    }
    await sleep(500);
  }
}
