import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { log } from '../ops/logger.js';
import { registry } from '../ops/metrics.js';
import { ServeError } from './errors.js';
import type { Recommender } from './recommender.js';

const l = log('serve.http');

const USER_RECS = /^\/v1\/users\/([^/]+)\/recommendations$/;
const ITEM_SIMILAR = /^\/v1\/items\/([^/]+)\/similar$/;
const DEFAULT_K = '10';

/**
 * The HTTP read path:
 *   GET /v1/users/:id/recommendations?k=  GET /v1/items/:id/similar?k=
 *   GET /metrics (Prometheus)  GET /healthz (process up)  GET /readyz (Redis reachable, a current version)
 * Errors: `{ "error": { "code", "message" } }` with 400/404/503.
 */
export function createHttpServer(recommender: Recommender): Server {
  return createServer((req, res) => {
    route(recommender, req, res).catch((err: unknown) => {
      l.error({ err, url: req.url }, 'request failed');
      sendJson(res, 500, { error: { code: 'internal', message: 'internal error' } });
    });
  });
}


async function route(recommender: Recommender, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    } else if (url.pathname === '/metrics') {
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

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
