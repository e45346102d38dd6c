import { randomBytes } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { loadConfig, type Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { applyTopics, createTopicsReady, loadTopicSpecs } from '../../src/kafka/topics.js';
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
  await withAdmin(cfg, (admin) => createTopicsReady(admin, [{ topic, numPartitions: partitions, replicationFactor: 1 }]));
  return topic;
}

export const uniqueGroup = (label: string): string => `test-${label}-${randomBytes(4).toString('hex')}`;

const PIPELINE_TOPIC_ENV = {
  listings: 'LEARN_TOPIC_ITEM_LISTINGS',
  content: 'LEARN_TOPIC_ITEM_CONTENT',
  events: 'LEARN_TOPIC_USER_EVENTS',
  dlq: 'LEARN_TOPIC_DLQ',
} as const;

type PipelineRole = keyof typeof PIPELINE_TOPIC_ENV;

/** Fresh topics for the pipeline topics a test names (role -> partitions), as the LEARN_TOPIC_* settings. */
export async function freshPipelineTopics<R extends PipelineRole>(
  cfg: Config,
  label: string,
  partitions: Record<R, number>,
): Promise<Record<(typeof PIPELINE_TOPIC_ENV)[R], string>> {
  const env: Partial<Record<string, string>> = {};
  for (const [role, n] of Object.entries(partitions) as Array<[R, number]>) {
    env[PIPELINE_TOPIC_ENV[role]] = await freshTopic(cfg, `${label}-${role}`, n);
  }
  return env as Record<(typeof PIPELINE_TOPIC_ENV)[R], string>;
}

/**
 * One test file's pipeline on the shared stack: fresh topics for the roles it names (role -> partitions), its own
 * consumer groups and Redis prefix, the state folder it gives, and the settings it asks for, validated like the
 * program's (loadConfig over the environment).
 */
export async function pipelineConfig(
  label: string,
  opts: { stateDir: string; partitions?: Partial<Record<'content' | 'events' | 'dlq', number>>; env?: Record<string, string> },
): Promise<Config> {
  const shared = await ensureStack();
  const short = label.replace(/[^a-z]/g, '').slice(0, 6);
  return loadConfig({
    ...process.env,
    ...(await freshPipelineTopics(shared, label, { content: 1, events: 1, dlq: 1, ...opts.partitions } as Record<'content' | 'events' | 'dlq', number>)),
    LEARN_STATE_DIR: opts.stateDir,
    LEARN_REDIS_PREFIX: `${short}${randomBytes(3).toString('hex')}`,
    LEARN_GROUP_PREFIX: `${short}${randomBytes(3).toString('hex')}`,
    ...opts.env,
  });
}
