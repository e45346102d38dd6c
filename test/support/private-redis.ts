import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../ops/free-port.js';
import { eventually, plainClient } from '../store/helpers.js';

/**
 * A redis-server of one test file on a port of its own, so stopping it never disturbs the shared stack.
 * Append-only persistence: what Redis acknowledged before SIGTERM is there after the restart.
 */
export class PrivateRedis {
  private server: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'learn-private-redis-'));

  private constructor(readonly port: number) {}

  static async create(): Promise<PrivateRedis> {
    return new PrivateRedis(await freePort());
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', this.dir], {
      stdio: 'ignore',
    });
    await eventually('redis-server answering', async () => {
      try {
        (await plainClient(this.url)).disconnect();
        return true;
      } catch {
        return false;
      }
    });
  }

  async stop(): Promise<void> {
    if (!this.server || this.server.exitCode !== null) return;
    const exited = once(this.server, 'exit');
    this.server.kill('SIGTERM');
    await exited;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
