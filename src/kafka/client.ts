import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { ConfigError, kafkaBrokers, type Config } from '../config/load.js';
import { log } from '../ops/logger.js';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

// kafkajs logs through pino. Its INFO chatter (joins, rebalances) goes to debug, and its ERROR lines, which are
// mostly retriable responses it handles itself, to warn: what fails for good surfaces as an exception.
// The producer's retry bound is deliberate (src/kafka/producer.ts, docs/operations.md): kafkajs's warning that it
// limits exactly-once is dropped, since nobody can act on it.
const SILENCED = [/^Limiting retries for the idempotent producer/];

function pinoLogCreator() {
  const l = log('kafkajs');
  return ({ level, log: entry }: LogEntry) => {
    const { message, ...rest } = entry;
    if (SILENCED.some((re) => re.test(message))) return;
    const lvl = levels[level] ?? 'info';
    l[lvl === 'info' ? 'debug' : lvl === 'error' ? 'warn' : lvl](rest, message);
  };
}

function sasl(cfg: Config): SASLOptions | undefined {
  if (!cfg.kafkaSaslMechanism || !cfg.kafkaSaslUsername || !cfg.kafkaSaslPassword) return undefined;
  const { kafkaSaslUsername: username, kafkaSaslPassword: password } = cfg;
  switch (cfg.kafkaSaslMechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

/**
 * TLS from the config: `true` (system CAs) for KAFKA_SSL alone; an options object when a CA bundle or a client
 * certificate is given (either turns TLS on: a CA file with a plaintext connection is never what was meant).
 */
export function kafkaTls(cfg: Config): boolean | ConnectionOptions {
  const { kafkaSslCaFile: ca, kafkaSslCertFile: cert, kafkaSslKeyFile: key, kafkaSslKeyPassword: passphrase } = cfg;
  if (Boolean(cert) !== Boolean(key)) {
    throw new ConfigError(['KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together: set both for mutual TLS, or neither']);
  }
  if (!ca && !cert) return cfg.kafkaSsl;
  return {
    ...(ca ? { ca: [readFileSync(ca, 'utf8')] } : {}),
    ...(cert && key ? { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') } : {}),
    ...(passphrase ? { passphrase } : {}),
  };
}

let warnedCleartext = false;

/** The kafkajs options of one role's client (`encoder`, `trainer`, `admin`, ...): TLS and SASL from the config. */
export function kafkaClientConfig(cfg: Config, role: string, overrides: Partial<KafkaConfig> = {}): KafkaConfig {
  const auth = sasl(cfg);
  const ssl = kafkaTls(cfg);
  if (auth?.mechanism === 'plain' && ssl === false && !warnedCleartext) {
    // Allowed (SASL_PLAINTEXT inside a private network), but worth one line: the password crosses the wire in clear.
    warnedCleartext = true;
    log('kafka').warn('SASL/PLAIN without TLS: the password is sent unencrypted (set KAFKA_SSL=true)');
  }
  return {
    clientId: `${cfg.kafkaClientId}-${role}`,
    brokers: kafkaBrokers(cfg),
    ssl,
    ...(auth ? { sasl: auth } : {}),
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator,
    retry: { initialRetryTime: 200, retries: 8 },
    ...overrides,
  };
}

/** A kafkajs client for one role (`encoder`, `trainer`, `admin`, ...), with TLS and SASL from the config. */
export function createKafka(cfg: Config, role: string, overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka(kafkaClientConfig(cfg, role, overrides));
}

/** True when a broker answers a metadata request within the time given. */
export async function brokerAnswers(cfg: Config, timeoutMs = 3000): Promise<boolean> {
  const admin = createKafka(cfg, 'probe', {
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
