import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import type { Config } from '../config/load.js';
import { redisUrl } from '../config/load.js';
import { PROJECT_ROOT } from '../config/paths.js';
import { log } from '../ops/logger.js';
import { deleteKeysUnder } from '../store/drop-prefix.js';
import { VectorStore } from '../store/vector-store.js';
import { Rng } from '../model/rng.js';

const l = log('bench.serve');

export interface ServeBenchOptions {
  /** Catalogue sizes to measure, each a fresh model version under a bench-only key prefix. */
  items: number[];
  users: number;
  dim: number;
  connections: number;
  durationS: number;
  /** Users asked by both servers for recall@10 of the HNSW path against the exact scan. */
  recallQueries: number;
  seed: number;
}

export interface ServeRun {
  mode: 'exact' | 'hnsw';
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  requests: number;
  errors: number;
  non2xx: number;
  /** Time from the server's start to its first answer: loading every item vector (and building the graph). */
  warmMs: number;
}

export interface ServeBenchRow {
  items: number;
  runs: ServeRun[];
  /** Share of the exact top 10 that the HNSW path returned, over `recallQueries` users. */
  recallAt10: number;
}

const WRITE_BATCH = 2_000;

/**
 * `learn bench serve`: requests/s and latency of `GET /v1/users/:id/recommendations?k=10` against a real `learn serve`
 * process reading real Redis, with autocannon as the load, at each catalogue size, first with every request scanning
 * every item (LEARN_SERVE_ANN_MIN_ITEMS 0) and then through the HNSW graph (threshold 1), and the recall@10 of the
 * second against the first.
 */
export async function benchServe(cfg: Config, o: ServeBenchOptions): Promise<{ options: ServeBenchOptions; rows: ServeBenchRow[] }> {
  const rows: ServeBenchRow[] = [];
  for (const n of o.items) {
    const prefix = `bench-serve-${process.pid}-${n}`;
    const store = await VectorStore.open({ redisUrl: redisUrl(cfg), prefix });
    try {
      const started = Date.now();
      await writeCatalogue(store, n, o);
      l.info({ items: n, ms: Date.now() - started }, 'catalogue written');
      const exact = await measure(prefix, 'exact', o);
      const hnsw = await measure(prefix, 'hnsw', o);
      rows.push({ items: n, runs: [exact.run, hnsw.run], recallAt10: recall(exact.answers, hnsw.answers) });
      process.stderr.write(`${JSON.stringify(rows.at(-1))}\n`);
    } finally {
      await deleteKeysUnder(store.redis, prefix);
      await store.close();
    }
  }
  return { options: o, rows };
}

async function writeCatalogue(store: VectorStore, n: number, o: ServeBenchOptions): Promise<void> {
  const rng = new Rng(o.seed + n);
  // Gaussian directions: no cluster structure for the graph to exploit, a hard case for HNSW.
  const vector = (): Float32Array => Float32Array.from({ length: o.dim }, () => rng.normal() / Math.sqrt(o.dim));
  const version = await store.beginVersion({ dim: o.dim });
  for (let from = 0; from < n; from += WRITE_BATCH) {
    const writes = Array.from({ length: Math.min(WRITE_BATCH, n - from) }, (_, j) => ({ id: `item-${from + j}`, eventTime: 1, vector: vector() }));
    await store.writeItemVectors(version, writes);
  }
  await store.writeUserVectors(version, Array.from({ length: o.users }, (_, j) => ({ id: `user-${j}`, eventTime: 1, vector: vector() })));
  await store.publishVersion(version);
}

async function measure(prefix: string, mode: ServeRun['mode'], o: ServeBenchOptions): Promise<{ run: ServeRun; answers: string[][] }> {
  const started = Date.now();
  const server = await startServer(prefix, mode === 'exact' ? 0 : 1);
  try {
    // The first answer waits for the whole index (and graph): timed apart from the load, asked again until it comes
    // (a graph of 100k+ items can take minutes on a small shared machine, past fetch's own header timeout).
    await firstAnswer(server.base, 'user-0');
    const warmMs = Date.now() - started;
    const answers: string[][] = [];
    for (let j = 0; j < o.recallQueries; j++) answers.push(await topIds(server.base, `user-${j % o.users}`));
    let k = 0;
    const result = await autocannon({
      url: server.base,
      connections: o.connections,
      duration: o.durationS,
      requests: [{ setupRequest: (req) => ({ ...req, path: `/v1/users/user-${k++ % o.users}/recommendations?k=10` }) }],
    });
    return {
      run: {
        mode,
        requestsPerS: Math.round((result.requests.total / result.duration) * 10) / 10,
        p50Ms: result.latency.p50,
        p99Ms: result.latency.p99,
        maxMs: result.latency.max,
        requests: result.requests.total,
        errors: result.errors + result.timeouts,
        non2xx: result.non2xx,
        warmMs,
      },
      answers,
    };
  } finally {
    server.proc.kill('SIGTERM');
    await once(server.proc, 'exit');
  }
}

const WARM_LIMIT_MS = 3_600_000;

async function firstAnswer(base: string, user: string): Promise<void> {
  const deadline = Date.now() + WARM_LIMIT_MS;
  for (;;) {
    try {
      const res = await fetch(`${base}/v1/users/${user}/recommendations?k=10`, { signal: AbortSignal.timeout(60_000) });
      if (res.ok) return;
      if (Date.now() > deadline) throw new Error(`learn serve answered ${res.status} for ${WARM_LIMIT_MS / 60_000} minutes`);
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

async function topIds(base: string, user: string): Promise<string[]> {
  const res = await fetch(`${base}/v1/users/${user}/recommendations?k=10`).catch((err: unknown) => {
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    throw new Error(`GET recommendations of ${user} failed${cause}`);
  });
  if (!res.ok) throw new Error(`${user}: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { items: Array<{ itemId: string }> }).items.map((i) => i.itemId);
}

function recall(exact: string[][], approximate: string[][]): number {
  let hits = 0;
  let total = 0;
  exact.forEach((want, j) => {
    const got = new Set(approximate[j] ?? []);
    hits += want.filter((id) => got.has(id)).length;
    total += want.length;
  });
  return total === 0 ? Number.NaN : Math.round((hits / total) * 10_000) / 10_000;
}

/** A `learn serve` process on a free port of loopback, reading the bench's prefix. */
async function startServer(prefix: string, annMinItems: number): Promise<{ proc: ChildProcess; base: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LEARN_REDIS_PREFIX: prefix,
    LEARN_SERVE_ANN_MIN_ITEMS: String(annMinItems),
    LEARN_SERVE_METRICS_PORT: '0',
    // The load is the point: no cap, no token.
    LEARN_SERVE_MAX_IN_FLIGHT: '100000',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  delete env.LEARN_SERVE_TOKEN;
  const proc = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/learn.js'), 'serve', '--port', String(await freePort()), '--host', '127.0.0.1'], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: proc.stdout! });
  for await (const line of lines) {
    const m = /^serving on (http:\/\/\S+)/.exec(line);
    if (m?.[1]) return { proc, base: m[1] };
  }
  throw new Error('learn serve exited before listening');
}

/** A loopback port free a moment ago (the serve setting refuses 0). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
