import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Redis } from 'ioredis';

/** What one check says; `detail` is shown in the /readyz or /healthz body (never a secret). */
export interface CheckResult {
  ok: boolean;
  detail?: unknown;
}

/** A check may answer with a plain boolean or with details. */
export type Check = () => Promise<boolean | CheckResult> | boolean | CheckResult;

export interface HealthReport {
  ok: boolean;
  checks: Record<string, CheckResult>;
}

// Process-wide, like the metrics registry: a role (or a component it starts, e.g. a vector store) adds its
// checks here, and the ops server reports them. Each add returns its own removal.
const readinessChecks = new Map<string, Check>();
const livenessChecks = new Map<string, Check>();
const CHECK_TIMEOUT_MS = 2_000;

/** Adds a readiness check: /readyz answers 200 only while every one passes (e.g. Redis answers PING). */
export function addReadinessCheck(name: string, check: Check): () => void {
  readinessChecks.set(name, check);
  return () => {
    if (readinessChecks.get(name) === check) readinessChecks.delete(name);
  };
}

/** Adds a liveness check: /healthz answers 503 when one fails, so the orchestrator restarts the process. */
export function addLivenessCheck(name: string, check: Check): () => void {
  livenessChecks.set(name, check);
  return () => {
    if (livenessChecks.get(name) === check) livenessChecks.delete(name);
  };
}

export function readiness(): Promise<HealthReport> {
  return runChecks(readinessChecks);
}

// The event-loop delay shown by /healthz. Answering at all is the liveness signal (a blocked loop answers
// nothing and the probe times out); the numbers say how close to that the process runs.
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();

export async function liveness(): Promise<HealthReport> {
  const report = await runChecks(livenessChecks);
  report.checks['event-loop'] = {
    ok: true,
    detail: { p99Ms: Math.round(loopDelay.percentile(99) / 1e6), maxMs: Math.round(loopDelay.max / 1e6) },
  };
  loopDelay.reset();
  return report;
}

async function runChecks(checks: Map<string, Check>): Promise<HealthReport> {
  const entries = await Promise.all([...checks].map(async ([name, check]) => [name, await runOne(check)] as const));
  return { ok: entries.every(([, r]) => r.ok), checks: Object.fromEntries(entries) };
}

/** One check with a time limit: a check that hangs (a dead TCP peer) counts as failed, not as a hung probe. */
async function runOne(check: Check): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${CHECK_TIMEOUT_MS} ms` }), CHECK_TIMEOUT_MS);
  });
  try {
    const r = await Promise.race([Promise.resolve().then(check), timeout]);
    return typeof r === 'boolean' ? { ok: r } : r;
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** A readiness check for a role that writes Redis: PING answered. */
export function redisCheck(redis: Pick<Redis, 'ping' | 'status'>): Check {
  return async () => {
    if (redis.status !== 'ready') return { ok: false, detail: `redis connection ${redis.status}` };
    return { ok: (await redis.ping()) === 'PONG' };
  };
}
