import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, test } from 'node:test';
import { kafkaBrokers, type Config } from '../../src/config/load.js';
import { TOPICS } from '../../src/kafka/topics.js';
import { ensureStack } from '../support/stack.js';

let cfg: Config;
before(async () => {
  cfg = await ensureStack();
});

// .ci/run installs Debian's kcat: a client that shares no code with kafkajs or this project.
const kcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).error ? undefined : 'kcat';

test('an independent Kafka client (kcat) sees the broker and the four topics', { skip: kcat ? false : 'kcat is not installed (apt-get install kcat)' }, () => {
  const r = spawnSync('kcat', ['-b', kafkaBrokers(cfg).join(','), '-L', '-J'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  const meta = JSON.parse(r.stdout) as { brokers: unknown[]; topics: Array<{ topic: string; partitions: unknown[] }> };
  assert.equal(meta.brokers.length, 1);
  const names = meta.topics.map((t) => t.topic);
  for (const t of Object.values(TOPICS)) assert.ok(names.includes(t), `${t} missing from ${names.join(', ')}`);
});
