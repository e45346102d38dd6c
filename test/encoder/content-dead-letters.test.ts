import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultCodec } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { EncoderWorker } from '../../src/encoder/worker.js';
import { createKafka } from '../../src/kafka/client.js';
import { DLQ_HEADERS } from '../../src/kafka/dead-letter.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { messageCount } from '../faults/support.js';
import { eventually, header, readTopic } from '../support/kafka.js';
import { randomContents } from '../support/pipeline.js';
import { pipelineConfig } from '../support/stack.js';
import { ensureDefaultModel } from './model-helper.js';

// Issue 23 item 9: the encoder reads the compacted content topic from its start at every start (what is encoded
// already), and dead-lettered its undecodable records again each time. Dead-lettered once, however often it restarts.

const stateDir = mkdtempSync(join(tmpdir(), 'learn-encoder-letters-'));
let cfg: Config;
before(async () => {
  cfg = await pipelineConfig('encoder-letters', { stateDir });
  await ensureDefaultModel();
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

test('undecodable content records are dead-lettered once by the encoder across three starts', { timeout: 240_000 }, async () => {
  const good = randomContents('el', 3, 384, new Rng(5));
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  const send = (messages: Array<{ key: string; value: Buffer }>) => producer.send({ topic: cfg.topicItemContent, acks: ACKS_ALL, messages });
  const letters: number[] = [];
  try {
    await send([
      ...good.slice(0, 2).map((c) => ({ key: c.item_id, value: defaultCodec().encode('ItemContent', c) })),
      { key: 'el-garbage-1', value: Buffer.from('not an ItemContent record') },
      { key: good[2]!.item_id, value: defaultCodec().encode('ItemContent', good[2]!) },
    ]);
    for (let run = 1; run <= 3; run++) {
      // Started: the content table is loaded, every refusal of that load dead-lettered.
      const worker = await EncoderWorker.start(cfg);
      if (run === 1) {
        // One more while it runs: dead-lettered by this run, and not by the next.
        await send([{ key: 'el-garbage-2', value: Buffer.from('neither is this') }]);
        await eventually('the second dead letter', async () => (await messageCount(cfg, cfg.topicDlq)) >= 2, 60_000);
      }
      await worker.stop();
      letters.push(await messageCount(cfg, cfg.topicDlq));
    }
  } finally {
    await producer.disconnect();
  }
  assert.deepEqual(letters, [2, 2, 2], `dead letters after each of three starts: ${letters.join(', ')}`);
  const got = await readTopic(cfg, cfg.topicDlq, 2);
  assert.deepEqual(got.map((m) => String(m.key)).sort(), ['el-garbage-1', 'el-garbage-2']);
  assert.ok(got.every((m) => (header(m.headers, DLQ_HEADERS.reason) ?? '').length > 0), 'every dead letter has a reason');
});
