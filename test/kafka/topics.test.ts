import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import kafkajs from 'kafkajs';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { applyTopics, createTopicsReady, loadTopicSpecs, TOPICS } from '../../src/kafka/topics.js';
import { readTopic } from '../support/kafka.js';
import { ensureStack, freshTopic, withAdmin } from '../support/stack.js';

const { ConfigResourceTypes } = kafkajs;

let cfg: Config;
before(async () => {
  cfg = await ensureStack();
});

test('topics/ defines the four product topics, item-content compacted', () => {
  const specs = loadTopicSpecs();
  assert.deepEqual(specs.map((s) => s.name).sort(), Object.values(TOPICS).sort());
  assert.equal(specs.find((s) => s.name === TOPICS.itemContent)?.config['cleanup.policy'], 'compact');
});

test('the events topic is stamped by the broker: a producer-set timestamp does not survive', async () => {
  const spec = loadTopicSpecs().find((s) => s.name === TOPICS.userEvents)!;
  assert.equal(spec.config['message.timestamp.type'], 'LogAppendTime');
  const name = `test.events-stamp.${randomBytes(4).toString('hex')}`;
  await withAdmin(cfg, (admin) => applyTopics(admin, [{ ...spec, name }]));
  const producer = createKafka(cfg, 'test-stamp').producer();
  await producer.connect();
  const before = Date.now();
  try {
    await producer.send({ topic: name, acks: -1, messages: [{ key: 'u', value: 'x', timestamp: String(before + 24 * 3_600_000) }] });
  } finally {
    await producer.disconnect();
  }
  const [message] = await readTopic(cfg, name, 1);
  const stamped = Number(message?.timestamp);
  assert.ok(stamped >= before - 1_000 && stamped <= Date.now() + 1_000, `the broker's append time, not the producer's day-ahead stamp (${stamped - before} ms after the send)`);
});

test('topics apply twice is harmless: the second run changes nothing', async () => {
  const specs = loadTopicSpecs();
  const again = await withAdmin(cfg, (admin) => applyTopics(admin, specs));
  assert.deepEqual(again.map((r) => [r.name, r.action]), specs.map((s) => [s.name, 'exists']));
  const meta = await withAdmin(cfg, (admin) => admin.fetchTopicMetadata({ topics: specs.map((s) => s.name) }));
  for (const s of specs) assert.equal(meta.topics.find((t) => t.name === s.name)?.partitions.length, s.partitions);
});

test('a topic that differs from its spec is reported, not changed', async () => {
  const name = await freshTopic(cfg, 'differs', 1);
  const dir = mkdtempSync(join(tmpdir(), 'learn-topics-'));
  writeFileSync(
    join(dir, 't.json'),
    JSON.stringify({ name, doc: 'test', partitions: 3, replicationFactor: 1, key: 'k', valueSchema: 'v', config: { 'cleanup.policy': 'compact' } }),
  );
  const [report] = await withAdmin(cfg, (admin) => applyTopics(admin, loadTopicSpecs(dir)));
  assert.equal(report?.action, 'differs');
  assert.deepEqual(report?.differences, ['partitions: 1 (spec 3)', 'cleanup.policy: delete (spec compact)']);
  const meta = await withAdmin(cfg, (admin) => admin.fetchTopicMetadata({ topics: [name] }));
  assert.equal(meta.topics[0]?.partitions.length, 1);
});

test('an existing topic is brought to the spec timestamp type, keeping its other overrides; the rest is only reported', async () => {
  const name = `test.restamp.${randomBytes(4).toString('hex')}`;
  await withAdmin(cfg, (admin) =>
    createTopicsReady(admin, [
      {
        topic: name,
        numPartitions: 1,
        replicationFactor: 1,
        configEntries: [
          { name: 'message.timestamp.type', value: 'CreateTime' },
          { name: 'retention.ms', value: '123456789' },
        ],
      },
    ]),
  );
  const spec = { name, doc: 'test', partitions: 1, replicationFactor: 1, key: 'k', valueSchema: 'v', config: { 'message.timestamp.type': 'LogAppendTime', 'cleanup.policy': 'compact' } };
  const [report] = await withAdmin(cfg, (admin) => applyTopics(admin, [spec]));
  assert.equal(report?.action, 'differs');
  assert.deepEqual(report?.altered, ['message.timestamp.type: CreateTime -> LogAppendTime']);
  assert.deepEqual(report?.differences, ['cleanup.policy: delete (spec compact)']);
  const described = await withAdmin(cfg, (admin) =>
    admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name, configNames: ['message.timestamp.type', 'retention.ms', 'cleanup.policy'] }] }),
  );
  const value = (n: string) => described.resources[0]?.configEntries.find((e) => e.configName === n)?.configValue;
  assert.equal(value('message.timestamp.type'), 'LogAppendTime');
  assert.equal(value('retention.ms'), '123456789', 'the override it had is kept');
  assert.equal(value('cleanup.policy'), 'delete', 'a data-changing difference is left as it is');
  const [again] = await withAdmin(cfg, (admin) => applyTopics(admin, [{ ...spec, config: { 'message.timestamp.type': 'LogAppendTime' } }]));
  assert.equal(again?.action, 'exists');
});
