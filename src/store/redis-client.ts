import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Redis } from 'ioredis';
import { ConfigError } from '../config/load.js';
import { settings } from '../config/settings.js';
import { log } from '../ops/logger.js';

export interface RedisClientOptions {
  /** Fails a command that got no answer after this long, so a hung server looks like an unreachable one. */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** PEM CA bundle for a rediss:// URL. Default: REDIS_TLS_CA_FILE, so every caller (store, serve, stack) gets it. */
  tlsCaFile?: string;
}

/** REDIS_TLS_CA_FILE, validated like the rest of the config (the file must exist). */
function envTlsCaFile(): string | undefined {
  const raw = process.env[settings.redisTlsCaFile.env];
  const parsed = settings.redisTlsCaFile.schema.safeParse(raw === '' ? undefined : raw);
  if (!parsed.success) throw new ConfigError([`${settings.redisTlsCaFile.env} = ${JSON.stringify(raw)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`]);
  return parsed.data;
}

/** ioredis' `tls` option: a CA bundle for rediss:// (which otherwise uses the system CAs); refused for redis://. */
export function redisTls(url: string, caFile: string | undefined): ConnectionOptions | undefined {
  if (caFile === undefined) return undefined;
  if (!url.startsWith('rediss://')) {
    throw new ConfigError([`${settings.redisTlsCaFile.env} is set but ${settings.redisUrl.env} is not a rediss:// URL: TLS needs rediss://`]);
  }
  return { ca: [readFileSync(caFile, 'utf8')] };
}

/**
 * A client that fails fast instead of queueing while Redis is away: the vector store keeps its own bounded
 * buffer (and the read path answers 503), so ioredis' unbounded offline queue must stay off.
 * It reconnects forever with a capped backoff. The URL may hold a password: it is never logged.
 */
export function createRedisClient(url: string, role: string, opts: RedisClientOptions = {}): Redis {
  const l = log(`store.redis.${role}`);
  const tls = redisTls(url, opts.tlsCaFile ?? envTlsCaFile());
  const client = new Redis(url, {
    ...(tls ? { tls } : {}),
    lazyConnect: true,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
    connectTimeout: opts.connectTimeoutMs ?? 5_000,
    commandTimeout: opts.commandTimeoutMs ?? 10_000,
    connectionName: `learn-${role}`,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
  });
  let lastError = '';
  client.on('error', (err: Error) => {
    // ioredis repeats the same error on every reconnect attempt: log each distinct one once.
    if (err.message !== lastError) {
      if (isRedisAuthError(err)) l.error({ error: err.message }, 'redis refused the credentials: check the user and password in REDIS_URL');
      else l.warn({ error: err.message }, 'redis connection error');
    }
    lastError = err.message;
  });
  client.on('ready', () => {
    if (lastError !== '') l.info('redis connection ready again');
    lastError = '';
  });
  return client;
}

/** Connects, waiting at most `timeoutMs`; false (and reconnecting in the background) when Redis does not answer. */
export async function connectWithin(client: Redis, timeoutMs: number): Promise<boolean> {
  if (client.status === 'ready') return true;
  if (client.status === 'wait') client.connect().catch(() => undefined);
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(client.status === 'ready'), timeoutMs);
    client.on('ready', onReady);
    if (client.status === 'ready') done(true);
  });
}

/**
 * True for failures that say "Redis is not there right now" (connection lost, timeout, loading, failover),
 * after which a retry may succeed; false for answers that a retry would repeat (script bug, wrong type).
 */
export function isTransientRedisError(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof TypeError || err instanceof RangeError) return false;
  if (err.name !== 'ReplyError') return true; // connection closed, stream not writeable, timed out, ECONN*
  return /^(LOADING|READONLY|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|OOM|NOREPLICAS|MOVED|ASK)\b/.test(err.message);
}

/** Wrong or missing credentials (AUTH refused): retrying will not help until REDIS_URL is fixed. */
export function isRedisAuthError(err: unknown): boolean {
  return err instanceof Error && /^(WRONGPASS|NOAUTH)\b|invalid password/i.test(err.message);
}
