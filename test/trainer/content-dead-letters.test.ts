import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultCodec } from '../../src/codec/index.js';
import { createKafka } from '../../src/kafka/client.js';
import { DLQ_HEADERS } from '../../src/kafka/dead-letter.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { startTrainerRole } from '../../src/trainer/role.js';
import { messageCount } from '../faults/support.js';
import { header, readTopic } from '../support/kafka.js';
import { randomContents } from '../support/pipeline.js';
import { pipelineConfig } from '../support/stack.js';

// Issue 23 item 9: the trainer reads the compacted content topic from its start at every start, and dead-lettered its
// bad records again each time. A bad content record is dead-lettered once, however often the trainer restarts.

const stateDir = mkdtempSync(join(tmpdir(), 'learn-content-letters-'));
after(() => rmSync(stateDir, { recursive: true, force: true }));

test('bad content records are dead-lettered once across three trainer starts', { timeout: 180_000 }, async () => {
  const cfg = await pipelineConfig('content-letters', {
    stateDir,
    env: { LEARN_PAL_DIM: '32', LEARN_PAL_LAYERS: '1', LEARN_PAL_OUT_DIM: '16', LEARN_PUBLISH_VECTORS: 'false', LEARN_METRICS_PORT: '0' },
  });
  const good = randomContents('cl', 6, 24, new Rng(3));
  const nan = { ...good[0]!, item_id: 'cl-nan', vector: Buffer.from(new Float32Array(24).fill(Number.NaN).buffer) };
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  try {
    await producer.send({
      topic: cfg.topicItemContent,
      acks: ACKS_ALL,
      messages: [
        ...good.slice(0, 3).map((c) => ({ key: c.item_id, value: defaultCodec().encode('ItemContent', c) })),
        // Refused by the content table (its reason: non-finite-vector), and one that does not decode at all.
        { key: nan.item_id, value: defaultCodec().encode('ItemContent', nan) },
        { key: 'cl-garbage', value: Buffer.from('not an ItemContent record') },
        ...good.slice(3).map((c) => ({ key: c.item_id, value: defaultCodec().encode('ItemContent', c) })),
      ],
    });
  } finally {
    await producer.disconnect();
  }
  const letters: number[] = [];
  for (let run = 1; run <= 3; run++) {
    // The role has loaded the content table when it has started: every refusal of that load is acknowledged by now.
    const role = await startTrainerRole(cfg, {}, { exitOnFailure: false });
    assert.equal(role.trainer.stats.items, 0, 'nothing trained (items counted at a window)');
    await role.stop();
    letters.push(await messageCount(cfg, cfg.topicDlq));
  }
  assert.deepEqual(letters, [2, 2, 2], `dead letters after each of three starts: ${letters.join(', ')}`);
  const got = await readTopic(cfg, cfg.topicDlq, 2);
  assert.deepEqual(got.map((m) => String(m.key)).sort(), ['cl-garbage', 'cl-nan']);
  assert.ok(got.every((m) => (header(m.headers, DLQ_HEADERS.reason) ?? '').length > 0), 'every dead letter has a reason');
});
