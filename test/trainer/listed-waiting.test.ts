import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultCodec, type ItemListing, type UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { Trainer } from '../../src/trainer/trainer.js';
import { eventually, header, readTopic } from '../support/kafka.js';
import { publishContents, randomContents } from '../support/pipeline.js';
import { ensureStack, freshTopic, pipelineConfig } from '../support/stack.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let cfg: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-listed-'));
before(async () => {
  const listings = await freshTopic(await ensureStack(), 'listed-waiting-listings', 1);
  cfg = await pipelineConfig('listed-waiting', {
    stateDir,
    env: { LEARN_TOPIC_ITEM_LISTINGS: listings, LEARN_MAX_WAITING_MS: '1000', LEARN_WINDOW_MS: '200', LEARN_PAL_DIM: '32', LEARN_PAL_LAYERS: '1', LEARN_PAL_OUT_DIM: '16' },
  });
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

// Issue 11 §2.8: waiting is bounded by wall-clock time, but an event whose item's listing the trainer has seen on the
// listings topic waits for the encoder however long it lags; an event of an item nobody listed does not.
test('an event of a listed item waits past LEARN_MAX_WAITING_MS until its content comes; one of an unlisted item is dead-lettered', { timeout: 120_000 }, async () => {
  const codec = defaultCodec();
  const seed = randomContents('seed', 4, 24, new Rng(3));
  await publishContents(cfg, seed);
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  const listing: ItemListing = { item_id: 'slow-item', title: 'an item the encoder is slow to encode', category: null, brand: null, price: null, keywords: null, attributes: null, listed_at: Date.now() };
  const event = (id: string, item: string): UserEvent => ({ event_id: id, user_id: 'u1', item_id: item, type: 'click', ts: Date.now(), weight: null });
  const trainer = new Trainer(cfg);
  try {
    await producer.send({ topic: cfg.topicItemListings, acks: ACKS_ALL, messages: [{ key: listing.item_id, value: codec.encode('ItemListing', listing) }] });
    await trainer.prepare();
    await trainer.consume();
    // The listings follower is not awaited at start: give it time to read the one listing.
    await sleep(3_000);
    await producer.send({
      topic: cfg.topicUserEvents,
      acks: ACKS_ALL,
      messages: [event('listed', 'slow-item'), event('unlisted', 'nobody-listed-this')].map((e) => ({ key: e.user_id, value: codec.encode('UserEvent', e) })),
    });
    await eventually('both events consumed', () => trainer.stats.consumed >= 2, 60_000);
    // Five times the bound: the unlisted one goes to the DLQ, the listed one waits on.
    await sleep(5_000);
    await trainer.flush();
    assert.equal(trainer.stats.waiting, 1, 'only the listed item\'s event still waits');
    const [letter] = await readTopic(cfg, cfg.topicDlq, 1);
    assert.equal(header(letter?.headers, 'learn.dlq.reason'), 'no-content');
    assert.equal(codec.decode('UserEvent', letter!.value!).event_id, 'unlisted');
    // Its content arrives (the encoder caught up): it is released and trained.
    const [content] = randomContents('slow-item', 1, 24, new Rng(4));
    await publishContents(cfg, [{ ...content!, item_id: 'slow-item' }]);
    await eventually('the listed event trained', async () => {
      await trainer.flush();
      return trainer.stats.waiting === 0 && trainer.stats.eventsTrained >= 1;
    }, 30_000);
  } finally {
    await producer.disconnect();
    await trainer.stop();
  }
});
