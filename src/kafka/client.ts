import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { kafkaBrokers, type Config } from '../config/load.js';
import { log } from '../ops/logger.js';

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

// kafkajs logs through pino. Its INFO chatter (joins, rebalances) goes to debug, and its ERROR lines, which are
// mostly retriable responses it handles itself, to warn: what fails for good surfaces as an exception.
function pinoLogCreator() {
  const l = log('kafkajs');
  return ({ level, log: entry }: LogEntry) => {
    const { message, ...rest } = entry;
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

/** A kafkajs client for one role (`encoder`, `trainer`, `admin`, ...), with TLS and SASL from the config. */
export function createKafka(cfg: Config, role: string, overrides: Partial<KafkaConfig> = {}): Kafka {
  const auth = sasl(cfg);
  return new Kafka({
    clientId: `${cfg.kafkaClientId}-${role}`,
    brokers: kafkaBrokers(cfg),
    ssl: cfg.kafkaSsl,
    ...(auth ? { sasl: auth } : {}),
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator,
    retry: { initialRetryTime: 200, retries: 8 },
    ...overrides,
  });
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
