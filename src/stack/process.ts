import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A background service the stack started: its pid lives in a file so that `down` stops exactly it. */
export interface ManagedProcess {
  name: string;
  pidFile: string;
  logFile: string;
  /** Strings of which one must appear in /proc/PID/cmdline: guards against a recycled pid. */
  cmdlineMarks: string[];
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** The pid of our live process, or undefined (a stale pid file is removed). */
export function runningPid(p: ManagedProcess): number | undefined {
  if (!existsSync(p.pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(p.pidFile, 'utf8').trim(), 10);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && p.cmdlineMarks.some((m) => cmdline(pid).includes(m))) return pid;
  rmSync(p.pidFile, { force: true });
  return undefined;
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
