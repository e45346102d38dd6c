import type { IHeaders, Producer } from 'kafkajs';
import { log } from '../ops/logger.js';
import { deadLettered } from '../ops/metrics.js';
import { ACKS_ALL } from './producer.js';
import { TOPICS } from './topics.js';

/** Header names on learn.dlq messages; the value and key are the original bytes. */
export const DLQ_HEADERS = {
  sourceTopic: 'learn.dlq.source-topic',
  sourcePartition: 'learn.dlq.source-partition',
  sourceOffset: 'learn.dlq.source-offset',
  reason: 'learn.dlq.reason',
  error: 'learn.dlq.error',
  group: 'learn.dlq.group',
  at: 'learn.dlq.at',
} as const;

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Short kebab-case cause, e.g. unknown-fingerprint, empty-text. */
  reason: string;
  /** Human-readable detail. */
  error: string;
}

const MAX_ERROR_CHARS = 1000;

/** Writes dead letters and waits for the broker's acknowledgement before the caller may commit past them. */
export class DeadLetterWriter {
  private readonly l = log('kafka.dlq');

  constructor(
    private readonly producer: Producer,
    private readonly group: string,
    private readonly topic: string = TOPICS.dlq,
  ) {}

  async write(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const at = new Date().toISOString();
    await this.producer.send({
      topic: this.topic,
      acks: ACKS_ALL,
      messages: letters.map((d) => {
        const headers: IHeaders = {
          [DLQ_HEADERS.sourceTopic]: d.topic,
          [DLQ_HEADERS.sourcePartition]: String(d.partition),
          [DLQ_HEADERS.sourceOffset]: d.offset,
          [DLQ_HEADERS.reason]: d.reason,
          [DLQ_HEADERS.error]: d.error.slice(0, MAX_ERROR_CHARS),
          [DLQ_HEADERS.group]: this.group,
          [DLQ_HEADERS.at]: at,
        };
        return { key: d.key, value: d.value, headers };
      }),
    });
    for (const d of letters) {
      deadLettered.inc({ topic: d.topic, reason: d.reason });
      this.l.warn({ topic: d.topic, partition: d.partition, offset: d.offset, reason: d.reason, error: d.error.slice(0, 200) }, 'dead-lettered');
    }
  }
}
