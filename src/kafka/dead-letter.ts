import type { IHeaders, Message, Producer } from 'kafkajs';
import { faultPoint } from '../ops/fault-injection.js';
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
  /** Present only when the original value was cut to fit a Kafka message: its length in bytes before the cut. */
  truncatedFrom: 'learn.dlq.truncated-from-bytes',
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

/**
 * The most bytes one DLQ send carries. The broker refuses a record batch over `max.message.bytes` (1,048,588 by
 * default) and never accepts it on retry; this leaves room for the batch's own framing.
 */
export const DLQ_MAX_SEND_BYTES = 1_000_000;
/** A generous bound on a record's framing beyond its key, value and header bytes (varints, attributes, deltas). */
const RECORD_FRAMING_BYTES = 32;
const HEADER_FRAMING_BYTES = 10;

/** An upper bound of the bytes a message takes in a record batch. */
export function messageBytes(m: Message): number {
  let n = RECORD_FRAMING_BYTES + (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const [name, value] of Object.entries(m.headers ?? {})) n += HEADER_FRAMING_BYTES + Buffer.byteLength(name) + Buffer.byteLength(String(value));
  return n;
}

/** Cuts a message whose value alone makes it too big (saying so in a header); never drops it. */
export function fitMessage(m: Message & { value: Buffer | null }, maxBytes: number): Message {
  if (messageBytes(m) <= maxBytes || m.value === null) return m;
  const headers: IHeaders = { ...m.headers, [DLQ_HEADERS.truncatedFrom]: String(m.value.length) };
  const room = maxBytes - messageBytes({ ...m, value: null, headers });
  if (room < 0) throw new Error(`dead letter does not fit ${maxBytes} bytes even without its value (key of ${(m.key as Buffer | null)?.length ?? 0} bytes)`);
  return { ...m, value: m.value.subarray(0, room), headers };
}

/** Splits messages, in order, into runs of at most `maxBytes` each (a message is never split). */
export function chunkBySize(messages: Message[], maxBytes: number): Message[][] {
  const chunks: Message[][] = [];
  let current: Message[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = messageBytes(m);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Writes dead letters and waits for the broker's acknowledgement before the caller may commit past them. */
export class DeadLetterWriter {
  private readonly l = log('kafka.dlq');

  constructor(
    private readonly producer: Producer,
    private readonly group: string,
    private readonly topic: string = TOPICS.dlq,
    private readonly maxSendBytes: number = DLQ_MAX_SEND_BYTES,
  ) {}

  /** Sends in order, in as many sends as the size limit needs; resolves once every one is acknowledged. */
  async write(letters: DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const at = new Date().toISOString();
    const messages = letters.map((d) => {
      const headers: IHeaders = {
        [DLQ_HEADERS.sourceTopic]: d.topic,
        [DLQ_HEADERS.sourcePartition]: String(d.partition),
        [DLQ_HEADERS.sourceOffset]: d.offset,
        [DLQ_HEADERS.reason]: d.reason,
        [DLQ_HEADERS.error]: d.error.slice(0, MAX_ERROR_CHARS),
        [DLQ_HEADERS.group]: this.group,
        [DLQ_HEADERS.at]: at,
      };
      return fitMessage({ key: d.key, value: d.value, headers }, this.maxSendBytes);
    });
    for (const chunk of chunkBySize(messages, this.maxSendBytes)) {
      await this.producer.send({ topic: this.topic, acks: ACKS_ALL, messages: chunk });
    }
    faultPoint('dlq-write'); // LEARN_FAULT_KILL_AT: acknowledged, but nothing has committed past these records yet
    for (const d of letters) {
      deadLettered.inc({ topic: d.topic, reason: d.reason });
      this.l.warn({ topic: d.topic, partition: d.partition, offset: d.offset, reason: d.reason, error: d.error.slice(0, 200) }, 'dead-lettered');
    }
  }
}
