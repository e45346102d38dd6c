import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { onShutdown } from '../../ops/shutdown.js';
import { ServeError } from '../../serve/errors.js';
import { closeOps, createOpsServer, listenOps as listen } from '../../ops/ops-server.js';
import { createHttpServer } from '../../serve/http-server.js';
import { Recommender, type Recommendations } from '../../serve/recommender.js';

/** `learn recommend`, `learn similar`, `learn serve`: the read path, from Redis only. */
export function registerServe(program: Command): void {
  program
    .command('recommend')
    .description('top-K items for a user from the current model version in Redis')
    .requiredOption('--user <id>', 'user id')
    .option('--k <n>', 'how many items (1..1000)', '10')
    .option('--json', 'print JSON')
    .action((opts: { user: string; k: string; json?: boolean }) => answerOnce((r) => r.recommend(opts.user, opts.k), opts.json));

  program
    .command('similar')
    .description('top-K items most similar to an item (inner product), from Redis')
    .requiredOption('--item <id>', 'item id')
    .option('--k <n>', 'how many items (1..1000)', '10')
    .option('--json', 'print JSON')
    .action((opts: { item: string; k: string; json?: boolean }) => answerOnce((r) => r.similar(opts.item, opts.k), opts.json));

  program
    .command('serve')
    .description('HTTP read path: /v1/users/:id/recommendations, /v1/items/:id/similar, /metrics, /healthz, /readyz')
    .option('--port <n>', 'port (default LEARN_SERVE_PORT)')
    .option('--host <addr>', 'address (default LEARN_SERVE_HOST)')
    .action(async (opts: { port?: string; host?: string }) => {
      const cfg = loadConfig(process.env, {
        ...(opts.port !== undefined ? { servePort: opts.port } : {}),
        ...(opts.host !== undefined ? { serveHost: opts.host } : {}),
      });
      const recommender = await Recommender.fromConfig(cfg);
      const server = createHttpServer(recommender, {
        ...(cfg.serveToken !== undefined ? { token: cfg.serveToken } : {}),
        maxInFlight: cfg.serveMaxInFlight,
        retryAfterS: cfg.serveRetryAfterS,
        // /metrics never on the public port: on a port of its own, or not at all (LEARN_SERVE_METRICS_PORT 0).
        metrics: false,
        requestTimeoutMs: cfg.serveRequestTimeoutMs,
        headersTimeoutMs: cfg.serveHeadersTimeoutMs,
        keepAliveTimeoutMs: cfg.serveKeepAliveTimeoutMs,
      });
      const addr = await listen(server, cfg.servePort, cfg.serveHost);
      onShutdown('serve.http', () => new Promise<void>((resolve) => server.close(() => resolve())));
      onShutdown('serve.redis', () => recommender.close());
      if (cfg.serveMetricsPort > 0) {
        const metrics = createOpsServer();
        const m = await listen(metrics, cfg.serveMetricsPort, cfg.serveMetricsHost);
        onShutdown('serve.metrics', () => closeOps(metrics));
        process.stdout.write(`metrics on http://${m.address}:${m.port}/metrics\n`);
      }
      process.stdout.write(`serving on http://${addr.address}:${addr.port}${cfg.serveToken === undefined ? ' (no LEARN_SERVE_TOKEN: unauthenticated)' : ''}\n`);
    });
}

async function answerOnce(ask: (r: Recommender) => Promise<Recommendations>, json: boolean | undefined): Promise<void> {
  const recommender = await Recommender.fromConfig(loadConfig());
  try {
    const answer = await ask(recommender);
    if (json) {
      process.stdout.write(`${JSON.stringify(answer)}\n`);
      return;
    }
    process.stdout.write(`version ${answer.version}${answer.source === 'popularity' ? ' (popularity: no vector for this user)' : ''}\n`);
    answer.items.forEach((it, j) => process.stdout.write(`${String(j + 1).padStart(4)}  ${it.score.toFixed(6)}  ${printableId(it.itemId)}\n`));
  } catch (err) {
    if (!(err instanceof ServeError) || !json) throw err;
    process.stdout.write(`${JSON.stringify(err.toJSON())}\n`);
    process.exitCode = err.httpStatus === 400 ? 2 : 1;
  } finally {
    recommender.close();
  }
}

/**
 * An id as a terminal may show it: control characters (C0, DEL, C1, which start terminal escapes) and backslashes
 * written as \xHH / \uHHHH escapes, so an id stored by anyone cannot move the cursor or retitle the window.
 */
export function printableId(id: string): string {
  return id.replace(/[\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    if (c === '\\') return '\\\\';
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
