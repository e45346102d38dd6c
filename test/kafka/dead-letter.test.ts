import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from 'kafkajs';
import { createKafka } from '../../src/kafka/client.js';
import { ConsumerRunner } from '../../src/kafka/consumer-runner.js';
import { chunkBySize, DeadLetterWriter, DLQ_HEADERS, DLQ_MAX_SEND_BYTES, fitMessage, messageBytes } from '../../src/kafka/dead-letter.js';
import { ACKS_ALL } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { header, readTopic, useStackAndProducer } from '../support/kafka.js';
import { freshTopic, uniqueGroup } from '../support/stack.js';

const letter = (n: number, valueBytes: number): Message => ({ key: `k${n}`, value: Buffer.alloc(valueBytes, 7), headers: { [DLQ_HEADERS.reason]: 'bad-magic' } });

test('chunkBySize keeps order, never passes the limit with more than one message, never splits a message', () => {
  const messages = Array.from({ length: 50 }, (_, i) => letter(i, 100 + ((i * 37) % 300)));
  const chunks = chunkBySize(messages, 2_000);
  assert.deepEqual(chunks.flat(), messages);
  for (const c of chunks) {
    assert.ok(c.length >= 1);
    assert.ok(c.reduce((n, m) => n + messageBytes(m), 0) <= 2_000);
  }
  assert.ok(chunks.length > 1);
  assert.deepEqual(chunkBySize([letter(0, 5_000)], 2_000).map((c) => c.length), [1]);
});

test('fitMessage cuts only a value too big for one message, and says so in a header', () => {
  const small = letter(1, 100);
  assert.deepEqual(fitMessage({ ...small, value: small.value as Buffer }, 2_000), small);
  const big = fitMessage({ ...letter(2, 10_000), value: Buffer.alloc(10_000, 7) }, 2_000);
  assert.ok(messageBytes(big) <= 2_000);
  assert.ok((big.value as Buffer).length > 1_000);
  assert.equal(big.headers?.[DLQ_HEADERS.truncatedFrom], '10000');
  assert.equal(big.headers?.[DLQ_HEADERS.reason], 'bad-magic');
});

const stack = useStackAndProducer();

// Issue 11 §2.3: 2,000 malformed 2-KB messages made chunks whose one DLQ batch passed the broker's
// max.message.bytes; the send was refused for ever and the partition stuck.
test('2,000 malformed 2-KB messages at the default LEARN_MAX_MESSAGE_BYTES all reach the DLQ with their reason', { timeout: 180_000 }, async () => {
  const topic = await freshTopic(stack.cfg, 'dlq-big-in', 2);
  const dlq = await freshTopic(stack.cfg, 'dlq-big');
  const rng = new Rng(11);
  const garbage = (): Buffer => {
    const b = Buffer.from(Array.from({ length: 2_048 }, () => rng.int(256)));
    b[0] = 0; // never the single-object magic: reason bad-magic
    return b;
  };
  const keys = Array.from({ length: 2_000 }, (_, i) => `bad-${i}`);
  for (let i = 0; i < keys.length; i += 200) {
    await stack.producer.send({ topic, acks: ACKS_ALL, messages: keys.slice(i, i + 200).map((key) => ({ key, value: garbage() })) });
  }
  const group = uniqueGroup('dlq-big');
  let handled = 0;
  const runner = new ConsumerRunner<Buffer>({
    kafka: createKafka(stack.cfg, 'test-consumer'),
    groupId: group,
    topics: [topic],
    decode: (value) => {
      if (value?.[0] !== 0xc3) throw Object.assign(new Error('not single-object encoded'), { reason: 'bad-magic' });
      return value;
    },
    handle: async (records) => {
      handled += records.length;
    },
    dlq: new DeadLetterWriter(stack.producer, group, dlq),
    maxMessageBytes: stack.cfg.maxMessageBytes,
    commitMode: 'after-chunk',
  });
  await runner.start();
  try {
    const letters = await readTopic(stack.cfg, dlq, keys.length, 120_000);
    assert.equal(handled, 0);
    assert.deepEqual(new Set(letters.map((m) => String(m.key))), new Set(keys));
    for (const m of letters) {
      assert.equal(header(m.headers, DLQ_HEADERS.reason), 'bad-magic');
      assert.equal(m.value?.length, 2_048);
    }
  } finally {
    await runner.stop();
  }
});

test('a dead letter bigger than a Kafka message is truncated with a header, not dropped', async () => {
  const dlq = await freshTopic(stack.cfg, 'dlq-huge');
  const writer = new DeadLetterWriter(stack.producer, 'test', dlq);
  const value = Buffer.alloc(DLQ_MAX_SEND_BYTES + 500_000, 1);
  await writer.write([{ topic: 'src', partition: 0, offset: '5', key: Buffer.from('huge'), value, reason: 'oversize', error: 'too big' }]);
  const [m] = await readTopic(stack.cfg, dlq, 1);
  assert.equal(header(m?.headers, DLQ_HEADERS.reason), 'oversize');
  assert.equal(header(m?.headers, DLQ_HEADERS.truncatedFrom), String(value.length));
  assert.ok((m?.value?.length ?? 0) > DLQ_MAX_SEND_BYTES - 1_000);
});
