import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Admin, Producer } from 'kafkajs';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { ConsumerRunner } from '../../src/kafka/consumer-runner.js';
import { DeadLetterWriter } from '../../src/kafka/dead-letter.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { ConsumerLagMonitor } from '../../src/kafka/consumer-lag.js';
import { registry } from '../../src/ops/metrics.js';
import { eventually } from '../support/kafka.js';
import { ensureStack, freshTopic, uniqueGroup } from '../support/stack.js';

// Consumer lag against the real broker: a fresh 2-partition topic, a unique group, the project's runner.
let cfg: Config;
let admin: Admin;
let producer: Producer;

before(async () => {
  cfg = await ensureStack();
  admin = createKafka(cfg, 'test-lag').admin();
  await admin.connect();
  producer = await createProducer(createKafka(cfg, 'test-lag-producer'));
});
after(async () => {
  await producer.disconnect();
  await admin.disconnect();
});

test('lag per partition from end offsets vs committed offsets; ready only when the group is stable and caught up', async () => {
  const topic = await freshTopic(cfg, 'lag', 2);
  const dlq = await freshTopic(cfg, 'lag-dlq');
  const group = uniqueGroup('lag');
  await producer.send({ topic, acks: ACKS_ALL, messages: Array.from({ length: 30 }, (_, i) => ({ partition: i % 2, value: Buffer.from(`m${i}`) })) });

  const monitor = new ConsumerLagMonitor(admin, { groupId: group, topics: [topic] }, { intervalMs: 500, maxLag: 5 });
  await monitor.pollOnce();
  let s = monitor.snapshot()!;
  assert.deepEqual(s.partitions.map((p) => [p.partition, p.lag]).sort(), [[0, 15], [1, 15]], 'nothing committed: lag from the start');
  assert.equal(monitor.check().ok, false, 'no consumer yet');
  assert.match(await registry.getSingleMetricAsString('learn_consumer_lag'), new RegExp(`learn_consumer_lag\\{group="${group}",topic="${topic.replace(/\./g, '\\.')}",partition="0"\\} 15`));

  let handled = 0;
  let gate = true;
  const runner = new ConsumerRunner<Buffer>({
    kafka: createKafka(cfg, 'test-lag-consumer'),
    groupId: group,
    topics: [topic],
    decode: (v) => v ?? Buffer.alloc(0),
    handle: async (records) => {
      // Holds the first records until released, so the not-caught-up state is observable.
      while (gate) await new Promise((r) => setTimeout(r, 50));
      handled += records.length;
    },
    dlq: new DeadLetterWriter(producer, group, dlq),
    maxMessageBytes: cfg.maxMessageBytes,
    commitMode: 'after-chunk',
  });
  await runner.start();
  try {
    await eventually('group stable', async () => {
      await monitor.pollOnce();
      return monitor.snapshot()?.groupState === 'Stable';
    });
    s = monitor.snapshot()!;
    assert.equal(s.members, 1);
    assert.equal(s.maxLag, 15);
    const lagging = monitor.check();
    assert.equal(lagging.ok, false);
    assert.match(JSON.stringify(lagging.detail), /lagging/);

    gate = false;
    await eventually('all handled and committed, lag 0', async () => {
      await monitor.pollOnce();
      return handled === 30 && monitor.snapshot()?.maxLag === 0;
    });
    assert.equal(monitor.check().ok, true);

    // The in-process position counts too: processed-but-uncommitted offsets (the trainer commits at checkpoints).
    await producer.send({ topic, acks: ACKS_ALL, messages: [{ partition: 0, value: Buffer.from('late') }] });
    const withPositions = new ConsumerLagMonitor(admin, { groupId: group, topics: [topic], positions: () => new Map([[topic, new Map([[0, '16']])]]) }, { intervalMs: 500, maxLag: 0 });
    await withPositions.pollOnce();
    assert.equal(withPositions.snapshot()!.partitions.find((p) => p.partition === 0)!.lag, 0);
  } finally {
    await runner.stop();
  }
  // A stale measurement is not a reason to be ready.
  assert.equal(monitor.check(Date.now() + 60_000).ok, false);
});

test('a failed measurement is counted and makes the check fail, never throws', async () => {
  const quick = createKafka(cfg, 'test-lag-quick', { retry: { retries: 1, initialRetryTime: 100 } }).admin();
  await quick.connect();
  const monitor = new ConsumerLagMonitor(quick, { groupId: uniqueGroup('lag-missing'), topics: ['no.such.topic.for.lag'] }, { intervalMs: 500, maxLag: 0 });
  await monitor.pollOnce().finally(() => quick.disconnect());
  const c = monitor.check();
  assert.equal(c.ok, false);
  assert.match(await registry.getSingleMetricAsString('learn_consumer_lag_poll_errors_total'), /learn_consumer_lag_poll_errors_total\{group="test-lag-missing-/);
});
