import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Config } from '../config/load.js';
import { log } from '../ops/logger.js';
import { runningPid, startDetached, stopProcess, waitUntil, type ManagedProcess } from './process.js';
import type { ServiceStatus } from './service.js';

const l = log('stack.redis');

function home(cfg: Config): string {
  return join(cfg.stackDir, 'redis');
}

/** One instance's files, named by its port: two port settings may share one stack folder. */
export function redisFiles(cfg: Config): { pidFile: string; logFile: string; data: string } {
  const port = cfg.redisPort;
  return {
    pidFile: join(home(cfg), `redis-${port}.pid`),
    logFile: join(home(cfg), `redis-${port}.log`),
    data: join(home(cfg), `data-${port}`),
  };
}

export function redisProcess(cfg: Config): ManagedProcess {
  const { pidFile, logFile } = redisFiles(cfg);
  // redis-server rewrites its process title to host:port once it runs; the trailing space ends the port number.
  const cmdlineMarks = [` --port ${cfg.redisPort} `, ` 127.0.0.1:${cfg.redisPort} `];
  return {
    name: 'redis',
    pidFile,
    logFile,
    cmdlineMarks,
    legacy: { pidFile: join(home(cfg), 'redis.pid'), cmdlineMarks, port: cfg.redisPort },
  };
}

/** True when a Redis server answers PING at the URL. */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/** Debian's redis-server, installed with apt-get when missing and we may (root); otherwise a clear error. */
function ensureRedisServer(): void {
  if (!spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error) return;
  const isRoot = process.getuid?.() === 0;
  const hasApt = !spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).error;
  if (!isRoot || !hasApt) {
    throw new Error('redis-server not found on PATH: install it (Debian: apt-get install redis-server) or set REDIS_URL');
  }
  l.info('redis-server missing: installing Debian package redis-server (once)');
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'redis-server']]) {
    const r = spawnSync('apt-get', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr}`);
  }
}

export async function redisUp(cfg: Config): Promise<ServiceStatus> {
  const proc = redisProcess(cfg);
  const address = `127.0.0.1:${cfg.redisPort}`;
  const url = `redis://${address}`;
  const existing = runningPid(proc);
  if (existing !== undefined) {
    await waitUntil('redis', () => redisAnswers(url), { timeoutMs: cfg.stackStartTimeoutMs, logFile: proc.logFile });
    return { service: 'redis', state: 'running', pid: existing, address, note: 'already running' };
  }
  if (await redisAnswers(url)) {
    return { service: 'redis', state: 'foreign', address, note: 'a Redis not started by this stack answers there; left alone' };
  }
  ensureRedisServer();
  const dir = redisFiles(cfg).data;
  mkdirSync(dir, { recursive: true });
  // A local stack: periodic RDB snapshots are enough (a lost version is rebuilt by the trainer), and switching an
  // existing stack to AOF would start it empty. No eviction, as the layout needs (docs/operations.md, "Redis").
  const pid = startDetached(
    proc,
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(cfg.redisPort), '--dir', dir, '--daemonize', 'no', '--save', '300 1', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--protected-mode', 'yes'],
    home(cfg),
  );
  await waitUntil('redis', () => redisAnswers(url), {
    timeoutMs: cfg.stackStartTimeoutMs,
    alive: () => runningPid(proc) !== undefined,
    logFile: proc.logFile,
  });
  l.info({ servicePid: pid, address }, 'redis answers PING');
  return { service: 'redis', state: 'running', pid, address, note: 'started' };
}

export async function redisDown(cfg: Config): Promise<ServiceStatus> {
  const how = await stopProcess(redisProcess(cfg), 10_000);
  return { service: 'redis', state: 'stopped', address: `127.0.0.1:${cfg.redisPort}`, note: how };
}

export async function redisStatus(cfg: Config): Promise<ServiceStatus> {
  const address = `127.0.0.1:${cfg.redisPort}`;
  const pid = runningPid(redisProcess(cfg));
  const answers = await redisAnswers(`redis://${address}`);
  if (pid !== undefined) return { service: 'redis', state: 'running', pid, address, answers };
  return { service: 'redis', state: answers ? 'foreign' : 'stopped', address, answers };
}
