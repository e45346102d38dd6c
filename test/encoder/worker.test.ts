import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Producer } from 'kafkajs';
import { defaultCodec, type ItemListing } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { DLQ_HEADERS } from '../../src/kafka/dead-letter.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { eventually, header, readTopic } from '../support/kafka.js';
import { startLearn } from '../support/process.js';
import { ensureStack, freshPipelineTopics, freshTopic, withAdmin } from '../support/stack.js';
import { ensureDefaultModel } from './model-helper.js';

let cfg: Config;
before(async () => {
  cfg = await ensureStack();
  await ensureDefaultModel();
});

async function messageCount(topic: string): Promise<number> {
  const offsets = await withAdmin(cfg, (admin) => admin.fetchTopicOffsets(topic));
  return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

const listing = (i: number): ItemListing => ({
  item_id: `item-${i}`,
  title: `Product number ${i}: ${['hiking boots', 'espresso machine', 'yoga mat', 'desk lamp', 'rain jacket'][i % 5]}`,
  category: ['Shoes', 'Kitchen', 'Sports', 'Home', 'Clothing'][i % 5] ?? null,
  brand: `Brand ${i % 7}`,
  price: `${10 + i}.00 EUR`,
  keywords: ['new', `kw${i % 3}`],
  attributes: null,
  listed_at: 1_700_000_000_000 + i,
});

test('learn encode: N listings in, N ItemContent out, none twice across a SIGKILL mid-stream; an empty listing goes to the DLQ', { timeout: 300_000 }, async (t) => {
  const topics = await freshPipelineTopics(cfg, 'worker', { listings: 2, content: 2, dlq: 1 });
  const n = 400;
  const codec = defaultCodec();
  const producer: Producer = await createProducer(createKafka(cfg, 'test-producer'));
  const empty: ItemListing = { item_id: 'item-empty', title: '  ', category: null, brand: null, price: '1 EUR', keywords: [], attributes: null, listed_at: 1 };
  const listings = [empty, ...Array.from({ length: n }, (_, i) => listing(i))];
  // A redelivered-looking duplicate: the same listing twice must still give one ItemContent.
  listings.push(listing(7));
  await producer.send({
    topic: topics.LEARN_TOPIC_ITEM_LISTINGS,
    acks: ACKS_ALL,
    messages: listings.map((l) => ({ key: l.item_id, value: codec.encode('ItemListing', l) })),
  });
  await producer.disconnect();

  const env = { ...topics, LEARN_ENCODER_BATCH: '8' };
  const first = startLearn(['encode'], env);
  await eventually('the first ItemContent records', async () => (await messageCount(topics.LEARN_TOPIC_ITEM_CONTENT)) >= 40, 120_000);
  first.child.kill('SIGKILL');
  await first.exited;
  const atKill = await messageCount(topics.LEARN_TOPIC_ITEM_CONTENT);
  assert.ok(atKill < n, `the worker was killed mid-stream (${atKill} of ${n} done)`);
  t.diagnostic(`SIGKILL after ${atKill} of ${n} ItemContent records`);

  const second = startLearn(['encode'], env);
  await eventually('all ItemContent records', async () => (await messageCount(topics.LEARN_TOPIC_ITEM_CONTENT)) >= n, 180_000);
  // Let it settle: anything encoded twice would show up now.
  await new Promise((r) => setTimeout(r, 2000));
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0, second.logs().slice(-2000));

  const contents = await readTopic(cfg, topics.LEARN_TOPIC_ITEM_CONTENT, n);
  assert.equal(await messageCount(topics.LEARN_TOPIC_ITEM_CONTENT), n, 'no listing encoded twice');
  const ids = new Set(contents.map((m) => m.key?.toString()));
  assert.equal(ids.size, n);
  for (const m of contents.slice(0, 20)) {
    const c = codec.decode('ItemContent', m.value ?? Buffer.alloc(0));
    assert.equal(c.dim, 384);
    assert.equal(c.vector.length, 384 * 4);
    const v = new Float32Array(c.vector.buffer.slice(c.vector.byteOffset, c.vector.byteOffset + c.vector.length));
    const norm = Math.hypot(...v);
    assert.ok(Math.abs(norm - 1) < 1e-4, `unit norm, got ${norm}`);
  }

  const letters = await readTopic(cfg, topics.LEARN_TOPIC_DLQ, 1);
  assert.equal(header(letters[0]?.headers, DLQ_HEADERS.reason), 'empty-text');
  assert.equal(letters[0]?.key?.toString(), 'item-empty');
});

test('learn encode: a listing whose item_id passes LEARN_MAX_ID_BYTES goes to the DLQ as id-too-long; past LEARN_ENCODER_KNOWN_MAX an unchanged listing is encoded again, never dropped', { timeout: 300_000 }, async () => {
  const topics = await freshPipelineTopics(cfg, 'worker-bounds', { listings: 1, content: 1, dlq: 1 });
  const codec = defaultCodec();
  const producer: Producer = await createProducer(createKafka(cfg, 'test-producer'));
  const send = (ls: ItemListing[]) => producer.send({ topic: topics.LEARN_TOPIC_ITEM_LISTINGS, acks: ACKS_ALL, messages: ls.map((l) => ({ key: l.item_id, value: codec.encode('ItemListing', l) })) });
  const long: ItemListing = { ...listing(0), item_id: `item-${'x'.repeat(300)}` };
  const three = [listing(1), listing(2), listing(3)];
  await send([long, ...three]);
  const worker = startLearn(['encode'], { ...topics, LEARN_ENCODER_KNOWN_MAX: '2', LEARN_GROUP_PREFIX: `wb${Date.now()}` });
  try {
    await eventually('three ItemContent records and one dead letter', async () => (await messageCount(topics.LEARN_TOPIC_ITEM_CONTENT)) >= 3 && (await messageCount(topics.LEARN_TOPIC_DLQ)) >= 1, 120_000);
    const letters = await readTopic(cfg, topics.LEARN_TOPIC_DLQ, 1);
    assert.equal(header(letters[0]?.headers, DLQ_HEADERS.reason), 'id-too-long');
    assert.match(header(letters[0]?.headers, DLQ_HEADERS.error) ?? '', /item_id of 305 bytes/);
    // The same three listings again: the worker remembers at most two, so at least one is encoded again.
    await send(three);
    await eventually('a re-listed item encoded again', async () => (await messageCount(topics.LEARN_TOPIC_ITEM_CONTENT)) >= 4, 120_000);
    await new Promise((r) => setTimeout(r, 2000));
    const n = await messageCount(topics.LEARN_TOPIC_ITEM_CONTENT);
    assert.ok(n >= 4 && n <= 6, `${n} ItemContent records`);
  } finally {
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 0, worker.logs().slice(-2000));
    await producer.disconnect();
  }
});
