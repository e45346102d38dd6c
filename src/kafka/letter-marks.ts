import type { Kafka } from 'kafkajs';
import { log } from '../ops/logger.js';

/**
 * A table follower's dead-letter marks (TableFollower.deadLetteredThrough) kept as the committed offsets of a
 * consumer group that never consumes: for a role with no checkpoint of its own (the encoder, issue 23 item 9), so
 * that a bad record of a compacted topic, read again at every start, is dead-lettered once and not at every start.
 * Saved through the admin API, which refuses while another replica saves the same group: that save is then tried
 * again later, and until it lands a restart dead-letters those records once more (never fewer than once).
 */
export class GroupLetterMarks {
  private readonly l = log('kafka.letter-marks');

  constructor(
    private readonly kafka: Kafka,
    readonly groupId: string,
    private readonly topic: string,
  ) {}

  /** Per partition, the offset below which refused records were dead-lettered (none where nothing was saved). */
  async load(): Promise<Map<number, bigint>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const [offsets] = await admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] });
      const marks = new Map<number, bigint>();
      for (const p of offsets?.partitions ?? []) if (BigInt(p.offset) > 0n) marks.set(p.partition, BigInt(p.offset));
      return marks;
    } finally {
      await admin.disconnect();
    }
  }

  /** Saves the marks; false (logged) when the broker refused them now. */
  async save(marks: ReadonlyMap<number, bigint>): Promise<boolean> {
    if (marks.size === 0) return true;
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.setOffsets({ groupId: this.groupId, topic: this.topic, partitions: [...marks].map(([partition, offset]) => ({ partition, offset: offset.toString() })) });
      return true;
    } catch (err) {
      this.l.warn({ err: (err as Error).message, group: this.groupId }, 'dead-letter marks not saved: tried again later');
      return false;
    } finally {
      await admin.disconnect();
    }
  }
}
