import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Counter, Gauge } from 'prom-client';
import { log } from '../ops/logger.js';
import { registry } from '../ops/metrics.js';
import { ServeError } from './errors.js';
import type { Recommender } from './recommender.js';

const l = log('serve.http');

const USER_RECS = /^\/v1\/users\/([^/]+)\/recommendations$/;
const ITEM_SIMILAR = /^\/v1\/items\/([^/]+)\/similar$/;
const DEFAULT_K = '10';
/** Paths every request may reach without a token and outside the in-flight cap: orchestrator probes. */
const PROBES = new Set(['/healthz', '/readyz']);

const inFlightGauge = new Gauge({ name: 'learn_serve_in_flight', help: 'Read-path requests being answered now', registers: [registry] });
const rejected = new Counter({
  name: 'learn_serve_rejected_total',
  help: 'Read-path requests refused before any work, by reason (unauthorized, overloaded)',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export interface HttpServerOptions {
  /** Bearer token every non-probe request must carry (LEARN_SERVE_TOKEN); undefined: open. */
  token?: string;
  /** Most requests answered at once; the rest get 429 (LEARN_SERVE_MAX_IN_FLIGHT). */
  maxInFlight?: number;
  /** Retry-After of a 429, seconds (LEARN_SERVE_RETRY_AFTER_S). */
  retryAfterS?: number;
  /** Whether /metrics is answered on this server (false when it has a port of its own, LEARN_SERVE_METRICS_PORT). */
  metrics?: boolean;
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
}

/**
 * The HTTP read path:
 *   GET /v1/users/:id/recommendations?k=  GET /v1/items/:id/similar?k=
 *   GET /healthz (process up)  GET /readyz (Redis reachable, a current version)  GET /metrics (unless on its own port)
 * Errors: `{ "error": { "code", "message" } }` with 400/401/404/429/503.
 */
export function createHttpServer(recommender: Recommender, opts: HttpServerOptions = {}): Server {
  const checkToken = opts.token === undefined ? undefined : bearerCheck(opts.token);
  const maxInFlight = opts.maxInFlight ?? Infinity;
  const retryAfter = String(opts.retryAfterS ?? 1);
  let inFlight = 0;
  const server = createServer((req, res) => {
    const path = pathOf(req);
    if (PROBES.has(path)) {
      answer(() => route(recommender, req, res, opts.metrics ?? true), req, res);
      return;
    }
    if (checkToken && !checkToken(req.headers.authorization)) {
      rejected.inc({ reason: 'unauthorized' });
      // The header is never logged: it may be a near-miss of the real token.
      sendJson(res, 401, { error: { code: 'unauthorized', message: 'a valid "Authorization: Bearer <token>" header is required' } }, { 'www-authenticate': 'Bearer realm="learn"' });
      return;
    }
    if (path === '/metrics') {
      answer(() => route(recommender, req, res, opts.metrics ?? true), req, res);
      return;
    }
    if (inFlight >= maxInFlight) {
      rejected.inc({ reason: 'overloaded' });
      sendJson(res, 429, { error: { code: 'overloaded', message: `more than ${maxInFlight} requests in flight: retry later` } }, { 'retry-after': retryAfter });
      return;
    }
    inFlight++;
    inFlightGauge.set(inFlight);
    answer(() => route(recommender, req, res, opts.metrics ?? true), req, res, () => {
      inFlight--;
      inFlightGauge.set(inFlight);
    });
  });
  if (opts.requestTimeoutMs !== undefined) server.requestTimeout = opts.requestTimeoutMs;
  if (opts.headersTimeoutMs !== undefined) server.headersTimeout = Math.min(opts.headersTimeoutMs, server.requestTimeout || opts.headersTimeoutMs);
  if (opts.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = opts.keepAliveTimeoutMs;
  return server;
}

function answer(f: () => Promise<void>, req: IncomingMessage, res: ServerResponse, done?: () => void): void {
  f()
    .catch((err: unknown) => {
      l.error({ err, path: pathOf(req) }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'internal', message: 'internal error' } });
    })
    .finally(() => done?.());
}

/** A constant-time check of `Authorization: Bearer <token>`: both sides hashed first, so lengths never differ. */
function bearerCheck(token: string): (header: string | undefined) => boolean {
  const want = createHash('sha256').update(token).digest();
  return (header) => {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
    const got = createHash('sha256').update(m?.[1] ?? '').digest();
    return timingSafeEqual(want, got) && m !== null;
  };
}

function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return '/';
  }
}

async function route(recommender: Recommender, req: IncomingMessage, res: ServerResponse, metrics: boolean): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    sendJson(res, 405, { error: { code: 'method-not-allowed', message: `${req.method ?? ''} not allowed: use GET` } });
    return;
  }
  try {
    let m: RegExpExecArray | null;
    if ((m = USER_RECS.exec(url.pathname))) {
      sendJson(res, 200, await recommender.recommend(pathId(m[1]), url.searchParams.get('k') ?? DEFAULT_K));
    } else if ((m = ITEM_SIMILAR.exec(url.pathname))) {
      sendJson(res, 200, await recommender.similar(pathId(m[1]), url.searchParams.get('k') ?? DEFAULT_K));
    } else if (url.pathname === '/metrics' && metrics) {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(await registry.metrics());
    } else if (url.pathname === '/healthz') {
      sendJson(res, 200, { status: 'ok' });
    } else if (url.pathname === '/readyz') {
      const r = await recommender.readiness();
      sendJson(res, r.ready ? 200 : 503, r);
    } else {
      throw new ServeError('not-found', `no route for ${url.pathname}`);
    }
  } catch (err) {
    if (!(err instanceof ServeError)) throw err;
    sendJson(res, err.httpStatus, err.toJSON());
  }
}

/** An id from the path; a malformed % escape is the caller's error (400), not the server's. */
function pathId(raw: string | undefined): string {
  try {
    return decodeURIComponent(raw ?? '');
  } catch {
    throw new ServeError('bad-id', `the id in the path is not valid percent-encoding: ${JSON.stringify(raw)}`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
