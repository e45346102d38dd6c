import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultCodec, type ItemContent } from '../../src/codec/index.js';
import { createKafka } from '../../src/kafka/client.js';
import { DeadLetterWriter, DLQ_HEADERS } from '../../src/kafka/dead-letter.js';
import { ACKS_ALL } from '../../src/kafka/producer.js';
import { TableFollower } from '../../src/kafka/table-follower.js';
import { ContentTable } from '../../src/learner/content-table.js';
import { header, readTopic, useStackAndProducer } from '../support/kafka.js';
import { freshTopic } from '../support/stack.js';

const stack = useStackAndProducer();

const content = (id: string, values: number[]): ItemContent => ({
  item_id: id,
  model_id: 'm',
  text_hash: 'h',
  dim: values.length,
  vector: Buffer.from(Float32Array.from(values).buffer),
  encoded_at: 0,
});

// Issue 11, smaller items: content of another dimension than the table's was dropped with a log line only.
test('content the table refuses (wrong vector size) is dead-lettered with its reason; the table still loads', { timeout: 60_000 }, async () => {
  const topic = await freshTopic(stack.cfg, 'table');
  const dlq = await freshTopic(stack.cfg, 'table-dlq');
  const codec = defaultCodec();
  await stack.producer.send({
    topic,
    acks: ACKS_ALL,
    messages: [content('a', [1, 0]), content('b', [1, 0, 0]), content('c', [0, 1])].map((c) => ({ key: c.item_id, value: codec.encode('ItemContent', c) })),
  });
  const table = new ContentTable();
  const follower = new TableFollower<ItemContent>({
    kafka: createKafka(stack.cfg, 'test-table'),
    topic,
    role: 'test-table',
    decode: (v) => codec.decode('ItemContent', v),
    apply: (id, c) => void table.apply(id, c),
    dlq: new DeadLetterWriter(stack.producer, 'test-table', dlq),
    maxMessageBytes: stack.cfg.maxMessageBytes,
  });
  await follower.start();
  try {
    assert.deepEqual([...table.ids()].sort(), ['a', 'c']);
    const [letter] = await readTopic(stack.cfg, dlq, 1);
    assert.equal(String(letter?.key), 'b');
    assert.equal(header(letter?.headers, DLQ_HEADERS.reason), 'bad-vector-size');
    assert.equal(header(letter?.headers, DLQ_HEADERS.sourceOffset), '1');
  } finally {
    await follower.stop();
  }
});

// Issue 11, smaller items: the follower counted only records it was handed, so a partition ending in records kafkajs
// never hands over (a transaction's commit marker; records compacted away) kept the table from ever loading.
test('a partition ending in a transaction marker still loads', { timeout: 60_000 }, async () => {
  const topic = await freshTopic(stack.cfg, 'table-tx');
  const dlq = await freshTopic(stack.cfg, 'table-tx-dlq');
  const tx = createKafka(stack.cfg, 'test-tx').producer({ transactionalId: `test-${topic}`, idempotent: true, maxInFlightRequests: 1 });
  await tx.connect();
  try {
    const t = await tx.transaction();
    await t.send({ topic, acks: ACKS_ALL, messages: [{ key: 'a', value: defaultCodec().encode('ItemContent', content('a', [1, 0])) }] });
    await t.commit();
  } finally {
    await tx.disconnect();
  }
  const table = new ContentTable();
  const follower = new TableFollower<ItemContent>({
    kafka: createKafka(stack.cfg, 'test-table'),
    topic,
    role: 'test-table-tx',
    decode: (v) => defaultCodec().decode('ItemContent', v),
    apply: (id, c) => void table.apply(id, c),
    dlq: new DeadLetterWriter(stack.producer, 'test-table', dlq),
    maxMessageBytes: stack.cfg.maxMessageBytes,
    // Far beyond the test's timeout: loading must come from reaching the marker, not from the idle fallback.
    idleLoadedMs: 600_000,
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    // Bounded, so that a follower that never loads fails the test instead of holding the process.
    await Promise.race([follower.start(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('the table never loaded')), 45_000)))]);
    assert.deepEqual([...table.ids()], ['a']);
  } finally {
    clearTimeout(timer);
    await follower.stop();
  }
});

// CI once died of this (stop 12): a trainer stopped while its listings follower was still joining its group
// rejected the load promise before anything awaited it, an unhandled rejection that ended the test process.
test('a follower stopped at any point of its start-up: start rejects with the reason, nothing unhandled', { timeout: 60_000 }, async () => {
  const topic = await freshTopic(stack.cfg, 'table-stop');
  const dlq = new DeadLetterWriter(stack.producer, 'test-table-stop', await freshTopic(stack.cfg, 'table-stop-dlq'));
  const codec = defaultCodec();
  await stack.producer.send({ topic, acks: ACKS_ALL, messages: [content('a', [1, 0])].map((c) => ({ key: c.item_id, value: codec.encode('ItemContent', c) })) });
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    // At once (still reading the end offsets), then a little later (the runner joining its group).
    for (const delayMs of [0, 50, 150]) {
      const follower = new TableFollower<ItemContent>({
        kafka: createKafka(stack.cfg, 'test-table-stop'),
        topic,
        role: 'test-table-stop',
        decode: (v) => codec.decode('ItemContent', v),
        apply: () => undefined,
        dlq,
        maxMessageBytes: stack.cfg.maxMessageBytes,
      });
      // Handled from the start, as a caller awaiting it would: start() may reject while stop() is still running.
      const started = follower.start().then(() => 'loaded', (err: unknown) => (err as Error).message);
      await new Promise((r) => setTimeout(r, delayMs));
      await follower.stop();
      // A load that finished first is fine too; what must not happen is a rejection nobody handles, or a hang.
      const outcome = await started;
      assert.ok(outcome === 'loaded' || /stopped before the table loaded/.test(outcome), `stopped after ${delayMs} ms: ${outcome}`);
    }
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(unhandled, []);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
