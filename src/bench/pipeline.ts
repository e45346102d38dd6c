import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import type { Config } from '../config/load.js';
import { createKafka } from '../kafka/client.js';
import { applyPrefixedTopics, withTopics, type TopicNames } from '../kafka/topics.js';

/** A private pipeline for one bench run: its own topics, consumer groups, Redis prefix and state folder. */
export interface BenchPipeline {
  run: string;
  cfg: Config;
  topics: TopicNames;
  admin: Admin;
  /** Deletes the topics and the state folder. */
  cleanup: () => Promise<void>;
}

export async function benchPipeline(base: Config, label: string, overrides: Partial<Config> = {}): Promise<BenchPipeline> {
  const run = randomBytes(4).toString('hex');
  const admin = createKafka(base, 'bench').admin();
  await admin.connect();
  const topics = await applyPrefixedTopics(admin, `bench.${run}`);
  const stateDir = mkdtempSync(join(tmpdir(), `learn-bench-${label}-`));
  const cfg: Config = { ...withTopics(base, topics), redisPrefix: `bench-${run}`, groupPrefix: `bench-${run}`, stateDir, ...overrides };
  return {
    run,
    cfg,
    topics,
    admin,
    cleanup: async () => {
      await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
      await admin.disconnect();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
