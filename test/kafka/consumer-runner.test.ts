import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Producer } from 'kafkajs';
import { defaultCodec, type RecordName, type RecordTypes } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { ConsumerRunner, type SourceRecord } from '../../src/kafka/consumer-runner.js';
import { DeadLetterWriter, DLQ_HEADERS } from '../../src/kafka/dead-letter.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { eventually, header, readTopic } from '../support/kafka.js';
import { ensureStack, freshTopic, uniqueGroup, withAdmin } from '../support/stack.js';

let cfg: Config;
let producer: Producer;
const codec = defaultCodec();

before(async () => {
  cfg = await ensureStack();
  producer = await createProducer(createKafka(cfg, 'test-producer'));
});
after(async () => {
  await producer.disconnect();
});

/** Runs a runner over `topic` until `want` records were handled; returns them and the stopped runner. */
async function consume<R extends RecordName>(
  record: R,
  topic: string,
  want: number,
  dlqTopic: string,
  group = uniqueGroup(record),
): Promise<{ got: Array<SourceRecord<RecordTypes[R]>>; runner: ConsumerRunner<RecordTypes[R]> }> {
  const got: Array<SourceRecord<RecordTypes[R]>> = [];
  const runner = new ConsumerRunner<RecordTypes[R]>({
    kafka: createKafka(cfg, 'test-consumer'),
    groupId: group,
    topics: [topic],
    decode: (value) => codec.decode(record, value ?? Buffer.alloc(0)),
    handle: async (records) => {
      got.push(...records);
    },
    dlq: new DeadLetterWriter(producer, group, dlqTopic),
    maxMessageBytes: cfg.maxMessageBytes,
    commitMode: 'after-chunk',
  });
  await runner.start();
  await eventually(`${want} ${record} records`, () => got.length >= want);
  await runner.stop();
  return { got, runner };
}

/** A runner that reads raw bytes, handles nothing and commits only when told (manual). */
function idleRunner(topic: string, group: string, dlq: string, sessionTimeoutMs?: number): ConsumerRunner<Buffer> {
  return new ConsumerRunner<Buffer>({
    kafka: createKafka(cfg, 'test-consumer'),
    groupId: group,
    topics: [topic],
    decode: (value) => value ?? Buffer.alloc(0),
    handle: async () => undefined,
    dlq: new DeadLetterWriter(producer, group, dlq),
    maxMessageBytes: cfg.maxMessageBytes,
    commitMode: 'manual',
    ...(sessionTimeoutMs !== undefined ? { sessionTimeoutMs } : {}),
  });
}

const listing: RecordTypes['ItemListing'] = {
  item_id: 'i-1',
  title: 'Trail running shoe',
  category: 'Shoes',
  brand: 'Acme',
  price: '89.90 EUR',
  keywords: ['running', 'trail'],
  attributes: ['waterproof'],
  listed_at: 1_700_000_000_000,
};
const event: RecordTypes['UserEvent'] = { event_id: 'e-1', user_id: 'u-1', item_id: 'i-1', type: 'click', ts: 1_700_000_000_500, weight: 1.5 };
const vector = Buffer.from(new Float32Array([0.6, -0.8, 0, 0.25]).buffer);
const content: RecordTypes['ItemContent'] = {
  item_id: 'i-1',
  model_id: 'all-minilm-l6-v2-q',
  text_hash: 'ab'.repeat(32),
  dim: 4,
  vector,
  encoded_at: 1_700_000_001_000,
};

for (const [record, value] of [
  ['ItemListing', listing],
  ['UserEvent', event],
  ['ItemContent', content],
] as const) {
  test(`${record} round trip through the real broker`, async () => {
    const topic = await freshTopic(cfg, `rt-${record}`);
    const dlq = await freshTopic(cfg, 'dlq');
    await producer.send({ topic, acks: ACKS_ALL, messages: [{ key: value.item_id, value: codec.encode(record, value as never) }] });
    const { got } = await consume(record, topic, 1, dlq);
    // avsc decodes into record classes; compare the fields.
    assert.deepEqual(got.map((r) => ({ ...r.value })), [value]);
    assert.equal(got[0]?.key?.toString(), value.item_id);
  });
}

test('schema evolution: a UserEvent written with v1 is read with the current schema', async () => {
  const topic = await freshTopic(cfg, 'evolution');
  const dlq = await freshTopic(cfg, 'dlq');
  const v1 = codec.registry.version('UserEvent', 1);
  const old = { event_id: 'e-old', user_id: 'u-9', item_id: 'i-9', type: 'purchase', ts: 1_600_000_000_000 };
  await producer.send({ topic, acks: ACKS_ALL, messages: [{ key: 'u-9', value: codec.encodeWith(v1, old) }] });
  const { got } = await consume('UserEvent', topic, 1, dlq);
  assert.deepEqual({ ...got[0]?.value }, { ...old, weight: null });
});

test('garbage, unknown fingerprints and truncated bodies go to the DLQ with the reason; the consumer goes on and commits past them', async () => {
  const topic = await freshTopic(cfg, 'bad');
  const dlq = await freshTopic(cfg, 'dlq');
  const group = uniqueGroup('bad');
  const good = (n: number) => codec.encode('UserEvent', { ...event, event_id: `good-${n}` });
  const unknownFp = Buffer.concat([Buffer.from([0xc3, 0x01]), randomBytes(8), good(0).subarray(10)]);
  const truncated = good(99).subarray(0, 20);
  const messages = [good(1), randomBytes(64), good(2), unknownFp, good(3), truncated, good(4)];
  await producer.send({ topic, acks: ACKS_ALL, messages: messages.map((value) => ({ key: 'u-1', value })) });

  const { got } = await consume('UserEvent', topic, 4, dlq, group);
  assert.deepEqual(got.map((r) => r.value.event_id), ['good-1', 'good-2', 'good-3', 'good-4']);

  const letters = await readTopic(cfg, dlq, 3);
  const summary = letters.map((m) => [header(m.headers, DLQ_HEADERS.sourceOffset), header(m.headers, DLQ_HEADERS.reason)]);
  assert.deepEqual(summary, [
    ['1', 'bad-magic'],
    ['3', 'unknown-fingerprint'],
    ['5', 'truncated'],
  ]);
  for (const m of letters) {
    assert.equal(header(m.headers, DLQ_HEADERS.sourceTopic), topic);
    assert.equal(header(m.headers, DLQ_HEADERS.sourcePartition), '0');
    assert.ok((header(m.headers, DLQ_HEADERS.error) ?? '').length > 0);
  }
  // The original bytes are kept.
  assert.deepEqual(letters[1]?.value, unknownFp);

  const committed = await withAdmin(cfg, (admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }));
  assert.equal(committed[0]?.partitions[0]?.offset, String(messages.length));
});

test('backpressure pauses consumption and resumes it with nothing lost or repeated', async () => {
  const topic = await freshTopic(cfg, 'pause');
  const dlq = await freshTopic(cfg, 'dlq');
  const n = 50;
  await producer.send({
    topic,
    acks: ACKS_ALL,
    messages: Array.from({ length: n }, (_, i) => ({ key: 'u', value: codec.encode('UserEvent', { ...event, event_id: `p-${i}` }) })),
  });
  let blocked = true;
  let pausedChecks = 0;
  const got: string[] = [];
  const group = uniqueGroup('pause');
  const runner = new ConsumerRunner<RecordTypes['UserEvent']>({
    kafka: createKafka(cfg, 'test-consumer'),
    groupId: group,
    topics: [topic],
    decode: (value) => codec.decode('UserEvent', value ?? Buffer.alloc(0)),
    handle: async (records) => {
      got.push(...records.map((r) => r.value.event_id));
    },
    dlq: new DeadLetterWriter(producer, group, dlq),
    maxMessageBytes: cfg.maxMessageBytes,
    chunkSize: 10,
    commitMode: 'after-chunk',
    shouldPause: () => {
      if (got.length >= 20 && blocked) pausedChecks++;
      return got.length >= 20 && blocked;
    },
  });
  await runner.start();
  await eventually('the pause', () => pausedChecks > 3);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(got.length, 20, 'nothing is consumed while paused');
  blocked = false;
  await eventually('all messages after resume', () => got.length >= n);
  await new Promise((r) => setTimeout(r, 500));
  await runner.stop();
  assert.deepEqual(got, Array.from({ length: n }, (_, i) => `p-${i}`));
});

// Issue 11 §2.10: a trainer committed its checkpoint's offsets for every partition it had ever read, including
// partitions the group had since handed to another member.
test('commit writes offsets only for the partitions assigned to this member now', { timeout: 120_000 }, async () => {
  const topic = await freshTopic(cfg, 'assigned', 2);
  const dlq = await freshTopic(cfg, 'dlq');
  const group = uniqueGroup('assigned');
  const runner = (): ConsumerRunner<Buffer> => idleRunner(topic, group, dlq, 10_000);
  const a = runner();
  const b = runner();
  await a.start();
  try {
    await eventually('a holds both partitions', () => a.assignment.get(topic)?.size === 2);
    await b.start();
    await eventually('the partitions shared', () => a.assignment.get(topic)?.size === 1 && b.assignment.get(topic)?.size === 1, 60_000);
    const mine = [...a.assignment.get(topic)!][0]!;
    await a.commit(new Map([[topic, new Map([[0, '5'], [1, '5']])]]));
    const committed = await withAdmin(cfg, (admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }));
    const byPartition = new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
    assert.equal(byPartition.get(mine), '5');
    assert.equal(byPartition.get(1 - mine), '-1', 'the partition owned by the other member was committed');
  } finally {
    await b.stop();
    await a.stop();
  }
});

// A CI run hung for its whole budget: a stop landing while the consumer was still starting made kafkajs see a
// retriable crash (no broker: the cluster was disconnected under it) and restart the consumer after the stop,
// which then rejoined its group and kept the test process alive.
test('a runner stopped at any point of its start-up stays stopped: no restart, no rejoin, no fetch after the stop', { timeout: 60_000 }, async () => {
  const topic = await freshTopic(cfg, 'stop-in-start');
  const dlq = await freshTopic(cfg, 'dlq');
  await producer.send({ topic, acks: ACKS_ALL, messages: [{ key: 'k', value: Buffer.from('x') }] });
  // -1: stopped before it starts (start() then connects nothing).
  const delaysMs = [-1, 0, 5, 10, 20, 40, 80, 160, 320, 640];
  const afterStop = await Promise.all(
    delaysMs.map(async (delayMs) => {
      const group = uniqueGroup('stop-in-start');
      const runner = idleRunner(topic, group, dlq);
      const k = runner.kafkaConsumer;
      const seen: string[] = [];
      let stopping = false;
      let stopped = false;
      for (const name of [k.events.CONNECT, k.events.GROUP_JOIN, k.events.FETCH_START] as const) {
        k.on(name, () => stopped && seen.push(name));
      }
      k.on(k.events.CRASH, (e) => stopping && e.payload.restart && seen.push(`${k.events.CRASH} with restart`));
      if (delayMs < 0) {
        stopping = true;
        await runner.stop();
        stopped = true;
        await runner.start();
      } else {
        const started = runner.start().catch(() => undefined);
        await new Promise((r) => setTimeout(r, delayMs));
        stopping = true;
        await runner.stop();
        stopped = true;
        await started;
      }
      // Longer than kafkajs's restart backoff (200 ms here) and a group join.
      await new Promise((r) => setTimeout(r, 3_000));
      return `${delayMs} ms: ${seen.join(', ') || 'nothing'}`;
    }),
  );
  assert.deepEqual(afterStop, delaysMs.map((d) => `${d} ms: nothing`));
});
