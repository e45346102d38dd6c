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
