import type { Producer } from 'kafkajs';
import { defaultCodec, type ItemContent, type ItemListing } from '../codec/index.js';
import type { Config } from '../config/load.js';
import { createKafka } from '../kafka/client.js';
import { ChunkRetries } from '../kafka/chunk-retries.js';
import { ConsumerRunner, type Rejection, type SourceRecord } from '../kafka/consumer-runner.js';
import { DeadLetterWriter } from '../kafka/dead-letter.js';
import { GroupLetterMarks } from '../kafka/letter-marks.js';
import { ACKS_ALL, createProducer } from '../kafka/producer.js';
import { TableFollower } from '../kafka/table-follower.js';
import { topicsFrom } from '../kafka/topics.js';
import { idTooLong } from '../codec/id-length.js';
import { log } from '../ops/logger.js';
import { LruMap } from '../ops/lru-map.js';
import { batcherOptionsFrom, encoderOptionsFrom } from './encoder-config.js';
import { EncoderBatcher } from './encoder-batcher.js';
import type { ContentEncoder } from './content-encoder.js';
import { loadContentEncoder } from './load-encoder.js';
import { encodeKey, itemText, ItemTextError } from './item-text.js';
import { encodeSeconds, listingsEncoded, listingsSkipped } from './metrics.js';
import { toItemContent } from './item-content.js';


/** Tries of a chunk whose every listing fails to encode before they are dead-lettered. */
const WHOLE_CHUNK_TRIES = 3;

/** How often the content follower's dead-letter marks are saved when they moved (and once a day when they did not). */
const MARKS_EVERY_MS = 60_000;
const MARKS_REFRESH_MS = 24 * 3_600_000;

/** The encoder's consumer group: `learn-encoder` unless LEARN_GROUP_PREFIX gives this pipeline its own. */
export const encoderGroup = (cfg: Pick<Config, 'groupPrefix'>): string => `${cfg.groupPrefix}-encoder`;

interface Job {
  record: SourceRecord<ItemListing>;
  key: string;
  textHash: string;
  vector: Promise<Float32Array>;
}

export interface EncoderWorkerStats {
  encoded: number;
  skipped: number;
  rejected: number;
}

/**
 * `learn encode`: item listings in, frozen-LM content vectors out (the paper's CEX step as a stream).
 * Idempotent by (item_id, text hash, model id): what the compacted item-content topic already holds is not
 * encoded again, so redeliveries after a crash cost a lookup. Offsets are committed only after the
 * ItemContent records of a chunk are acknowledged by the broker.
 */
export class EncoderWorker {
  readonly stats: EncoderWorkerStats = { encoded: 0, skipped: 0, rejected: 0 };
  /** item_id -> idempotency key of its latest content (what the item-content topic holds). */
  private readonly known: LruMap<string, string>;
  private readonly l = log('encoder.worker');
  private runner: ConsumerRunner<ItemListing> | undefined;
  private follower: TableFollower<ItemContent> | undefined;
  private producer: Producer | undefined;
  private batcher: EncoderBatcher | undefined;
  private readonly chunkRetries = new ChunkRetries(WHOLE_CHUNK_TRIES);
  /** Where the content follower's dead-letter marks live between starts (issue 23 item 9). */
  private letterMarks: GroupLetterMarks | undefined;
  private savedMarks = '';
  private marksSavedAt = 0;
  private marksTimer: NodeJS.Timeout | undefined;
  /** Saves one at a time (the broker refuses a second beside the first). */
  private marksSaving: Promise<void> = Promise.resolve();

  constructor(
    private readonly cfg: Config,
    private readonly encoder: ContentEncoder,
  ) {
    // Bounded (LEARN_ENCODER_KNOWN_MAX): forgetting an item costs one re-encode if it is listed again, nothing else.
    this.known = new LruMap(cfg.encoderKnownMax);
  }

  static async start(cfg: Config, encoder?: ContentEncoder): Promise<EncoderWorker> {
    const w = new EncoderWorker(cfg, encoder ?? (await loadContentEncoder(encoderOptionsFrom(cfg))));
    await w.start();
    return w;
  }

  private async start(): Promise<void> {
    const codec = defaultCodec();
    const topics = topicsFrom(this.cfg);
    const kafka = createKafka(this.cfg, 'encoder');
    this.producer = await createProducer(kafka);
    const dlq = new DeadLetterWriter(this.producer, encoderGroup(this.cfg), topics.dlq);
    this.batcher = new EncoderBatcher(this.encoder, batcherOptionsFrom(this.cfg));

    // The content topic is read from its start at every start: records an earlier start dead-lettered are not again.
    this.letterMarks = new GroupLetterMarks(kafka, `${encoderGroup(this.cfg)}-content-letters`, topics.itemContent);
    const deadLetteredBelow = await this.letterMarks.load();
    this.follower = new TableFollower<ItemContent>({
      kafka,
      topic: topics.itemContent,
      role: `${encoderGroup(this.cfg)}-content`,
      decode: (v) => codec.decode('ItemContent', v),
      apply: (itemId, c) => {
        if (c === null) this.known.delete(itemId);
        else this.known.set(itemId, encodeKey(itemId, c.text_hash, c.model_id));
      },
      dlq,
      maxMessageBytes: this.cfg.maxMessageBytes,
      deadLetteredBelow,
    });
    await this.follower.start();
    // Saved again at every start too: a group's offsets expire (offsets.retention.minutes) unless committed.
    // In the background: a save joins a group for a moment, and encoding need not wait for it.
    this.saveLetterMarks(true);
    this.marksTimer = setInterval(() => this.saveLetterMarks(false), MARKS_EVERY_MS);

    this.runner = new ConsumerRunner<ItemListing>({
      kafka,
      groupId: encoderGroup(this.cfg),
      topics: [topics.itemListings],
      decode: (v) => codec.decode('ItemListing', v ?? Buffer.alloc(0)),
      handle: (records) => this.handle(records, topics.itemContent),
      dlq,
      maxMessageBytes: this.cfg.maxMessageBytes,
      chunkSize: 256,
      commitMode: 'after-chunk',
      sessionTimeoutMs: this.cfg.kafkaSessionTimeoutMs,
    });
    await this.runner.start();
    this.l.info({ model: this.encoder.modelId, dim: this.encoder.dim, knownItems: this.known.size }, 'encoder worker running');
  }

  private async handle(records: Array<SourceRecord<ItemListing>>, outTopic: string): Promise<Rejection[]> {
    const stop = encodeSeconds.startTimer();
    const rejected: Rejection[] = [];
    const jobs = new Map<string, Job>();
    for (const record of records) {
      const listing = record.value;
      const tooLong = idTooLong('item_id', listing.item_id, this.cfg.maxIdBytes);
      if (tooLong) {
        rejected.push({ record, reason: 'id-too-long', error: tooLong });
        continue;
      }
      let text;
      try {
        text = itemText(listing, this.cfg.itemTextMaxChars);
      } catch (err) {
        if (!(err instanceof ItemTextError)) throw err;
        rejected.push({ record, reason: err.reason, error: err.message });
        continue;
      }
      const key = encodeKey(listing.item_id, text.textHash, this.encoder.modelId);
      if (this.known.get(listing.item_id) === key) {
        this.stats.skipped++;
        listingsSkipped.inc();
        continue;
      }
      // Within a chunk the newest listing of an item wins.
      jobs.delete(listing.item_id);
      jobs.set(listing.item_id, { record, key, textHash: text.textHash, vector: this.batcher!.submit(text.text) });
    }
    const settled = await Promise.allSettled([...jobs.values()].map((j) => j.vector));
    if (settled.length > 0 && settled.every((s) => s.status === 'rejected') && !this.chunkRetries.failed(records[0]!)) {
      // Every text failing is more likely the model than the data: retry the chunk a few times, then dead-letter
      // its listings as encode-failed (below) rather than block the partition for ever (issue 11).
      throw new Error(`encoder failed on a whole chunk: ${String((settled[0] as PromiseRejectedResult).reason)}`);
    }
    if (settled.some((s) => s.status === 'fulfilled')) this.chunkRetries.succeeded();
    const out: Array<{ job: Job; content: ItemContent }> = [];
    [...jobs.values()].forEach((job, i) => {
      const s = settled[i]!;
      if (s.status === 'rejected') {
        rejected.push({ record: job.record, reason: 'encode-failed', error: String(s.reason) });
      } else if (!s.value.every(Number.isFinite)) {
        rejected.push({ record: job.record, reason: 'non-finite-vector', error: `the model produced a non-finite value for ${job.record.value.item_id}` });
      } else {
        out.push({ job, content: this.content(job, s.value) });
      }
    });
    if (out.length > 0) {
      await this.producer!.send({
        topic: outTopic,
        acks: ACKS_ALL,
        messages: out.map(({ content }) => ({ key: content.item_id, value: defaultCodec().encode('ItemContent', content) })),
      });
      for (const { job } of out) this.known.set(job.record.value.item_id, job.key);
    }
    this.stats.encoded += out.length;
    this.stats.rejected += rejected.length;
    listingsEncoded.inc(out.length);
    stop();
    return rejected;
  }

  private content(job: Job, v: Float32Array): ItemContent {
    return toItemContent(job.record.value.item_id, job.textHash, this.encoder.modelId, v);
  }

  /** Saves the content follower's dead-letter marks if they moved (or `always`, or a day passed since the last save). */
  private saveLetterMarks(always: boolean): Promise<void> {
    this.marksSaving = this.marksSaving.then(() => this.saveMarksNow(always));
    return this.marksSaving;
  }

  private async saveMarksNow(always: boolean): Promise<void> {
    if (!this.follower || !this.letterMarks) return;
    const marks = this.follower.deadLetteredThrough();
    const json = JSON.stringify([...marks].map(([p, o]) => [p, o.toString()]));
    if (!always && json === this.savedMarks && Date.now() - this.marksSavedAt < MARKS_REFRESH_MS) return;
    if (await this.letterMarks.save(marks)) {
      this.savedMarks = json;
      this.marksSavedAt = Date.now();
    }
  }

  /** Finishes the chunk in progress (its output acknowledged and committed), then closes everything. */
  async stop(): Promise<void> {
    if (this.marksTimer) clearInterval(this.marksTimer);
    await this.runner?.stop();
    await this.follower?.stop();
    await this.saveLetterMarks(false);
    await this.batcher?.close();
    await this.producer?.disconnect();
    this.l.info(this.stats, 'encoder worker stopped');
  }
}
