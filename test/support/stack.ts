import { randomBytes } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { loadConfig, type Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { applyTopics, loadTopicSpecs } from '../../src/kafka/topics.js';
import { stackUp } from '../../src/stack/stack.js';

let ready: Promise<Config> | undefined;

/**
 * The one local stack every integration suite shares: `stack up` is idempotent, so the first suite starts
 * Kafka and Redis and the others find them running (or KAFKA_BROKERS/REDIS_URL point at external ones).
 */
export function ensureStack(): Promise<Config> {
  ready ??= (async () => {
    const cfg = loadConfig();
    await stackUp(cfg);
    await withAdmin(cfg, (admin) => applyTopics(admin, loadTopicSpecs()));
    return cfg;
  })();
  return ready;
}

export async function withAdmin<R>(cfg: Config, f: (admin: Admin) => Promise<R>): Promise<R> {
  const admin = createKafka(cfg, 'test-admin').admin();
  await admin.connect();
  try {
    return await f(admin);
  } finally {
    await admin.disconnect();
  }
}

/** A fresh topic for one test, so suites never see each other's messages. */
export async function freshTopic(cfg: Config, label: string, partitions = 1): Promise<string> {
  const topic = `test.${label}.${randomBytes(4).toString('hex')}`;
  await withAdmin(cfg, (admin) =>
    admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }] }),
  );
  return topic;
}

export const uniqueGroup = (label: string): string => `test-${label}-${randomBytes(4).toString('hex')}`;
