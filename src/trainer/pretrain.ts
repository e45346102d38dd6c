import type { ItemListing, UserEvent } from '../codec/index.js';
import { defaultCodec } from '../codec/index.js';
import type { Config } from '../config/load.js';
import type { DatasetRecord } from '../data/index.js';
import { EncoderBatcher, batcherOptionsFrom, encodeListings, encoderOptionsFrom, loadContentEncoder, type ContentEncoder } from '../encoder/index.js';
import { createKafka } from '../kafka/client.js';
import { ACKS_ALL, createProducer } from '../kafka/producer.js';
import { topicsFrom } from '../kafka/topics.js';
import { log } from '../ops/logger.js';
import { Trainer } from './trainer.js';

export interface PretrainSummary {
  events: number;
  trained: number;
  skippedNoContent: number;
  invalid: number;
  itemsEncoded: number;
  steps: number;
  checkpoint: number;
  seconds: number;
}

/**
 * `learn pretrain`: warm-starts the trainer on a historical log before it goes live. Listings of the log whose
 * items have no content yet are encoded with the frozen LM and published to the item-content topic (as the
 * encoder worker would), so the live trainer finds them too; then the events train with the live schedule and
 * the result is checkpointed, where `learn train` resumes from.
 */
export async function pretrain(cfg: Config, records: readonly DatasetRecord[], onProgress?: (done: number, total: number) => void): Promise<PretrainSummary> {
  const started = Date.now();
  const l = log('trainer.pretrain');
  const encoder = await loadContentEncoder(encoderOptionsFrom(cfg));
  const trainer = new Trainer(cfg);
  try {
    await trainer.prepare(encoder.dim);
    const listings = records.filter((r): r is { kind: 'listing'; value: ItemListing } => r.kind === 'listing').map((r) => r.value);
    const missing = listings.filter((li) => !trainer.model.content.has(li.item_id));
    const itemsEncoded = await encodeMissing(cfg, encoder, missing, trainer);
    l.info({ listings: listings.length, encoded: itemsEncoded }, 'content ready');
    const events = records.filter((r): r is { kind: 'event'; value: UserEvent } => r.kind === 'event').map((r) => r.value);
    const r = await trainer.pretrain(events, (done) => onProgress?.(done, events.length));
    return {
      events: events.length,
      trained: r.trained,
      skippedNoContent: r.skipped,
      invalid: r.invalid,
      itemsEncoded,
      steps: trainer.stats.step,
      checkpoint: trainer.stats.checkpointSeq,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await trainer.stop();
    await encoder.close();
  }
}

async function encodeMissing(cfg: Config, encoder: ContentEncoder, listings: ItemListing[], trainer: Trainer): Promise<number> {
  if (listings.length === 0) return 0;
  const batcher = new EncoderBatcher(encoder, batcherOptionsFrom(cfg));
  const producer = await createProducer(createKafka(cfg, 'pretrain'));
  const codec = defaultCodec();
  let n = 0;
  try {
    for (let i = 0; i < listings.length; i += 256) {
      // A listing with no usable text gets no content (the encoder worker would dead-letter it).
      const { contents } = await encodeListings(batcher, encoder.modelId, listings.slice(i, i + 256), cfg.itemTextMaxChars);
      await producer.send({
        topic: topicsFrom(cfg).itemContent,
        acks: ACKS_ALL,
        messages: contents.map((c) => ({ key: c.item_id, value: codec.encode('ItemContent', c) })),
      });
      for (const c of contents) trainer.model.content.apply(c.item_id, c);
      n += contents.length;
    }
  } finally {
    await batcher.close();
    await producer.disconnect();
  }
  return n;
}
