import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Admin } from 'kafkajs';
import type { Config } from '../config/load.js';
import { createKafka } from '../kafka/client.js';
import { ConsumerLagMonitor, type LagSource } from '../kafka/consumer-lag.js';
import { addReadinessCheck } from '../ops/health.js';
import { log } from '../ops/logger.js';
import { closeOps, createOpsServer, listenOps } from '../ops/ops-server.js';
import { onShutdown } from '../ops/shutdown.js';

const l = log('ops');

/** What a role command holds: where the server listens (undefined when off) and how to watch a consumer. */
export interface RoleOps {
  address: AddressInfo | undefined;
  /**
   * Measures the group's lag and makes /readyz depend on it; call after the role's consumer has started.
   * Undefined when the server is off (nobody would read the measurements).
   */
  watchConsumer(source: LagSource): Promise<ConsumerLagMonitor | undefined>;
}

/**
 * Observability of one role process (`learn encode|train|run`): starts the /metrics, /healthz, /readyz server
 * on LEARN_METRICS_HOST:LEARN_METRICS_PORT before the role loads its model, so liveness answers during a slow
 * start while readiness stays false until a watched consumer is caught up. Port 0 turns it all off.
 *
 * Shutdown order: a watched consumer is marked not ready first (its closer is registered after the role's),
 * the server closes last (registered before the role's), so probes keep answering during a final checkpoint.
 */
export async function startRoleOps(cfg: Config, role: string): Promise<RoleOps> {
  if (cfg.metricsPort === 0) return { address: undefined, watchConsumer: () => Promise.resolve(undefined) };
  let server: Server | undefined = createOpsServer();
  let address: AddressInfo | undefined;
  try {
    address = await listenOps(server, cfg.metricsPort, cfg.metricsHost);
    // Never what keeps the process alive: a role that fails to start still exits.
    server.unref();
    l.info({ role, host: address.address, port: address.port }, 'serving /metrics, /healthz, /readyz');
    const s = server;
    onShutdown('ops.http', () => closeOps(s));
  } catch (err) {
    // A taken port must not stop the role: it keeps consuming, unobserved, and says so loudly.
    l.error({ role, port: cfg.metricsPort, error: err instanceof Error ? err.message : String(err) }, 'metrics server could not listen; the role runs without /metrics, /healthz, /readyz');
    server = undefined;
  }
  const started = server !== undefined;
  // Not ready until the role has started its consumer and watches it (an empty set of checks would pass).
  const removeStarting = addReadinessCheck(`role:${role}`, () => ({ ok: false, detail: 'starting' }));
  let admin: Promise<Admin> | undefined;
  const sharedAdmin = (): Promise<Admin> => {
    admin ??= (async () => {
      const a = createKafka(cfg, `${role}-lag`).admin();
      await a.connect();
      onShutdown('ops.lag-admin', () => a.disconnect());
      return a;
    })();
    return admin;
  };
  return {
    address,
    async watchConsumer(source: LagSource): Promise<ConsumerLagMonitor | undefined> {
      if (!started) return undefined;
      // The check goes in before the first await: watches started together (`learn run`) are all counted at once.
      let monitor: ConsumerLagMonitor | undefined;
      let stopping = false; // a stopping role stays not ready until it exits, whatever its lag
      addReadinessCheck(`consumer:${source.groupId}`, () =>
        stopping ? { ok: false, detail: 'stopping' } : (monitor?.check() ?? { ok: false, detail: 'lag not measured yet' }),
      );
      removeStarting();
      monitor = new ConsumerLagMonitor(await sharedAdmin(), source, { intervalMs: cfg.lagIntervalMs, maxLag: cfg.readyMaxLag });
      await monitor.start();
      const m = monitor;
      onShutdown(`ops.lag:${source.groupId}`, () => {
        stopping = true;
        m.stop();
      });
      return m;
    },
  };
}
