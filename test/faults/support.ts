import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaMessage, Producer } from 'kafkajs';
import type { ItemListing, UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { DLQ_HEADERS } from '../../src/kafka/dead-letter.js';
import { ACKS_ALL } from '../../src/kafka/producer.js';
import { CheckpointStore } from '../../src/trainer/checkpoint.js';
import type { TrainerCheckpointState } from '../../src/trainer/trainer.js';
import { header, readTopic } from '../support/kafka.js';
import { startLearn, type RoleProcess } from '../support/process.js';
import { withAdmin } from '../support/stack.js';

// Shared pieces of the fault suites: synthetic data, checkpoint and topic inspection, process probes.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { SMALL_TRAINER_ENV, unitVector } from '../support/pipeline.js';



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

/**
 * A role kept running as a supervisor (systemd, Kubernetes) would: restarted whenever it exits by itself, until
 * `stop()`. `restarts` counts the exits it rode out.
 */
export class Supervised {
  current: RoleProcess;
  restarts = 0;
  private stopping = false;
  private readonly logs: string[] = [];

  constructor(
    private readonly args: string[],
    private readonly env: Record<string, string>,
  ) {
    this.current = this.launch();
  }

  private launch(): RoleProcess {
    const p = startLearn(this.args, this.env);
    void p.exited.then(() => {
      if (this.stopping) return;
      this.logs.push(p.logs());
      this.restarts++;
      this.current = this.launch();
    });
    return p;
  }

  /** Every life's logs, the current one last. */
  allLogs(): string {
    return [...this.logs, this.current.logs()].join('\n--- restarted ---\n');
  }

  /** SIGKILL to the current life, and no restart. */
  async kill(): Promise<void> {
    this.stopping = true;
    this.current.child.kill('SIGKILL');
    await this.current.exited;
  }

  /** SIGTERM to the current life; its exit code. */
  async stop(): Promise<number | null> {
    this.stopping = true;
    return stopRole(this.current);
  }
}
