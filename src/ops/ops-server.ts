import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { liveness, readiness } from './health.js';
import { log } from './logger.js';
import { registry } from './metrics.js';

const l = log('ops.http');

/**
 * The observability endpoints of a long-running role (the read path `learn serve` has its own server):
 *   GET /metrics  Prometheus text from the process registry
 *   GET /healthz  200 while the process answers and its liveness checks pass (event-loop delay shown)
 *   GET /readyz   200 only while every readiness check passes (consumer caught up, Redis reachable, ...)
 */
export function createOpsServer(): Server {
  return createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      l.error({ err, url: req.url }, 'request failed');
      if (!res.headersSent) send(res, 500, 'application/json', JSON.stringify({ status: 'error' }));
    });
  });
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'application/json', JSON.stringify({ status: 'method not allowed' }));
    return;
  }
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (path === '/metrics') {
    send(res, 200, registry.contentType, await registry.metrics());
  } else if (path === '/healthz') {
    const r = await liveness();
    send(res, r.ok ? 200 : 503, 'application/json', JSON.stringify({ status: r.ok ? 'ok' : 'unhealthy', checks: r.checks }));
  } else if (path === '/readyz') {
    const r = await readiness();
    send(res, r.ok ? 200 : 503, 'application/json', JSON.stringify({ status: r.ok ? 'ready' : 'not ready', checks: r.checks }));
  } else {
    send(res, 404, 'application/json', JSON.stringify({ status: 'not found', paths: ['/metrics', '/healthz', '/readyz'] }));
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

/** Listens and resolves with the bound address (port 0 picks a free one); the ops and the serving servers both use it. */
export async function listenOps(server: Server, port: number, host: string): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

export function closeOps(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
