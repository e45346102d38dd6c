import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaMessage, Producer } from 'kafkajs';
import type { ItemListing, UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { DLQ_HEADERS } from '../../src/kafka/dead-letter.js';
import { ACKS_ALL } from '../../src/kafka/producer.js';
import type { Rng } from '../../src/model/index.js';
import { CheckpointStore } from '../../src/trainer/checkpoint.js';
import type { TrainerCheckpointState } from '../../src/trainer/trainer.js';
import { header, readTopic } from '../support/kafka.js';
import type { RoleProcess } from '../support/process.js';
import { withAdmin } from '../support/stack.js';

// Shared pieces of the fault suites: synthetic data, checkpoint and topic inspection, process probes.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A child's env common to every fault suite: small model, quick windows and checkpoints, no metrics port. */
export const SMALL_TRAINER_ENV: Record<string, string> = {
  LEARN_METRICS_PORT: '0',
  // A killed member's partitions move on after 6 s rather than 30 s.
  LEARN_KAFKA_SESSION_TIMEOUT_MS: '6000',
  LEARN_BATCH_USERS: '16',
  LEARN_WINDOW_MS: '300',
  LEARN_CHECKPOINT_EVERY_BATCHES: '4',
  LEARN_CHECKPOINT_EVERY_MS: '1000',
  LEARN_PAL_DIM: '64',
  LEARN_PAL_LAYERS: '1',
  LEARN_HISTORY_LEN: '20',
  LEARN_ENCODER_BATCH: '8',
  LEARN_ENCODER_THREADS: '1',
};

export function unitVector(rng: Rng, dim: number): Buffer {
  const v = new Float32Array(dim).map(() => rng.normal());
  const n = Math.hypot(...v);
  return Buffer.from(v.map((x) => x / n).buffer);
}

const NOUNS = ['hiking boots', 'espresso machine', 'yoga mat', 'desk lamp', 'rain jacket', 'chess set', 'kettle'];
export function listing(i: number, title?: string): ItemListing {
  return {
    item_id: `item-${i}`,
    title: title ?? `Product ${i}: ${NOUNS[i % NOUNS.length]}`,
    category: ['Shoes', 'Kitchen', 'Sports', 'Home'][i % 4] ?? null,
    brand: `Brand ${i % 5}`,
    price: `${10 + i}.00 EUR`,
    keywords: null,
    attributes: null,
    listed_at: 1_700_000_000_000 + i,
  };
}

export function event(id: string, user: string, item: string, ts: number, type = 'click'): UserEvent {
  return { event_id: id, user_id: user, item_id: item, type, ts, weight: null };
}

export function latestCheckpoint(stateDir: string): TrainerCheckpointState | undefined {
  return new CheckpointStore<TrainerCheckpointState>(join(stateDir, 'checkpoints'), 3).loadLatest()?.state;
}

export async function messageCount(cfg: Config, topic: string): Promise<number> {
  const offsets = await withAdmin(cfg, (admin) => admin.fetchTopicOffsets(topic));
  return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

/** Every message a topic holds now, read by an independent consumer. */
export async function readAll(cfg: Config, topic: string, timeoutMs = 60_000): Promise<KafkaMessage[]> {
  const n = await messageCount(cfg, topic);
  return n === 0 ? [] : readTopic(cfg, topic, n, timeoutMs);
}

export interface DlqSummary {
  byReason: Record<string, number>;
  /** Distinct source records (topic/partition/offset): a redelivery may dead-letter one twice. */
  distinct: number;
  total: number;
  keys: Map<string, string>;
}

export function summariseDlq(letters: KafkaMessage[]): DlqSummary {
  const seen = new Map<string, string>();
  for (const m of letters) {
    const where = `${header(m.headers, DLQ_HEADERS.sourceTopic)}/${header(m.headers, DLQ_HEADERS.sourcePartition)}/${header(m.headers, DLQ_HEADERS.sourceOffset)}`;
    seen.set(where, header(m.headers, DLQ_HEADERS.reason) ?? '?');
  }
  const byReason: Record<string, number> = {};
  for (const r of seen.values()) byReason[r] = (byReason[r] ?? 0) + 1;
  return { byReason, distinct: seen.size, total: letters.length, keys: seen };
}

/** Sends in acknowledged chunks (one request per chunk keeps memory and request sizes small). */
export async function sendAll(producer: Producer, topic: string, messages: Array<{ key: string; value: Buffer }>, chunk = 500): Promise<void> {
  for (let i = 0; i < messages.length; i += chunk) {
    await producer.send({ topic, acks: ACKS_ALL, messages: messages.slice(i, i + chunk) });
  }
}

/** Resident memory of a process in KiB (Linux /proc). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Whether a child is still running (it has not exited). */
export function alive(p: RoleProcess): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/** SIGTERM, and the exit code (a clean stop is 0); SIGKILL after `graceMs`. */
export async function stopRole(p: RoleProcess, graceMs = 60_000): Promise<number | null> {
  if (!alive(p)) return p.child.exitCode;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  const code = await p.exited;
  clearTimeout(timer);
  return code;
}

/** Writes the children's logs to $LEARN_FAULT_LOG_DIR (default the OS temp dir) for a failed run's post-mortem. */
export function dumpLogs(label: string, roles: Record<string, RoleProcess>): void {
  const dir = process.env.LEARN_FAULT_LOG_DIR ?? tmpdir();
  for (const [name, p] of Object.entries(roles)) writeFileSync(join(dir, `learn-faults-${label}-${name}-${p.child.pid}.log`), p.logs());
}
