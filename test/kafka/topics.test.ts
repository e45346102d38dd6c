import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { Config } from '../../src/config/load.js';
import { applyTopics, loadTopicSpecs, TOPICS } from '../../src/kafka/topics.js';
import { ensureStack, freshTopic, withAdmin } from '../support/stack.js';

let cfg: Config;
before(async () => {
  cfg = await ensureStack();
});

test('topics/ defines the four product topics, item-content compacted', () => {
  const specs = loadTopicSpecs();
  assert.deepEqual(specs.map((s) => s.name).sort(), Object.values(TOPICS).sort());
  assert.equal(specs.find((s) => s.name === TOPICS.itemContent)?.config['cleanup.policy'], 'compact');
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
