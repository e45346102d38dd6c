import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths.js';

export interface RoleProcess {
  child: ChildProcess;
  /** Everything it wrote to stderr (its pino logs). */
  logs: () => string;
  exited: Promise<number | null>;
}

/** Starts `learn <args>` as a real child process with extra environment (topic names, ports). */
export function startLearn(args: string[], env: Record<string, string>): RoleProcess {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/learn.js'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stderr?.on('data', (d: Buffer) => {
    logs += d.toString();
  });
  child.stdout?.on('data', (d: Buffer) => {
    logs += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, logs: () => logs, exited };
}
