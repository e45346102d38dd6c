import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { defaultCodec, type ItemListing } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { DLQ_HEADERS } from '../../src/kafka/dead-letter.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { header, readTopic } from '../support/kafka.js';
import { startLearn } from '../support/process.js';
import { ensureStack, freshPipelineTopics } from '../support/stack.js';
import { ensureLlmModel, LLM_TEST_MODEL } from './model-helper.js';

let cfg: Config;
let modelId: string;
before(async () => {
  cfg = await ensureStack();
  modelId = (await ensureLlmModel()).manifest.modelId;
});

const listing = (i: number): ItemListing => ({
  item_id: `movie-${i}`,
  title: `${['Toy Story', 'Heat', 'Babe', 'Casino', 'Twelve Monkeys'][i % 5]} (${1990 + i})`,
  category: ['Animation', 'Action, Crime', "Children's", 'Drama', 'Sci-Fi'][i % 5] ?? null,
  brand: null,
  price: null,
  keywords: null,
  attributes: null,
  listed_at: 1_700_000_000_000 + i,
});

test('learn encode with LEARN_MODEL=smollm2-135m: listings in, 576-d unit ItemContent out on the real broker; an empty listing to the DLQ', { timeout: 180_000 }, async () => {
  const topics = await freshPipelineTopics(cfg, 'llm-worker', { listings: 1, content: 1, dlq: 1 });
  const n = 12;
  const codec = defaultCodec();
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  const empty: ItemListing = { ...listing(0), item_id: 'movie-empty', title: ' ', category: null };
  await producer.send({
    topic: topics.LEARN_TOPIC_ITEM_LISTINGS,
    acks: ACKS_ALL,
    messages: [empty, ...Array.from({ length: n }, (_, i) => listing(i))].map((l) => ({ key: l.item_id, value: codec.encode('ItemListing', l) })),
  });
  await producer.disconnect();

  const worker = startLearn(['encode'], { ...topics, LEARN_MODEL: LLM_TEST_MODEL, LEARN_ENCODER_BATCH: '4' });
  try {
    const contents = await readTopic(cfg, topics.LEARN_TOPIC_ITEM_CONTENT, n, 120_000);
    assert.equal(new Set(contents.map((m) => m.key?.toString())).size, n);
    for (const m of contents) {
      const c = codec.decode('ItemContent', m.value ?? Buffer.alloc(0));
      assert.equal(c.model_id, modelId);
      assert.equal(c.dim, 576);
      assert.equal(c.vector.length, 576 * 4);
      const v = new Float32Array(c.vector.buffer.slice(c.vector.byteOffset, c.vector.byteOffset + c.vector.length));
      assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-4, `unit norm, got ${Math.hypot(...v)}`);
    }
    const letters = await readTopic(cfg, topics.LEARN_TOPIC_DLQ, 1);
    assert.equal(header(letters[0]?.headers, DLQ_HEADERS.reason), 'empty-text');
  } finally {
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 0, worker.logs().slice(-2000));
  }
});
