import { Counter, Gauge } from 'prom-client';
import type { Admin } from 'kafkajs';
import type { PartitionOffsets } from './consumer-runner.js';
import type { CheckResult } from '../ops/health.js';
import { log } from '../ops/logger.js';
import { registry } from '../ops/metrics.js';

export const consumerLag = new Gauge({
  name: 'learn_consumer_lag',
  help: 'Messages behind the partition end: high watermark minus the consumer\'s position (committed, or processed where known)',
  labelNames: ['group', 'topic', 'partition'] as const,
  registers: [registry],
});

export const consumerGroupMembers = new Gauge({
  name: 'learn_consumer_group_members',
  help: 'Members of the consumer group, as the group coordinator reports them',
  labelNames: ['group'] as const,
  registers: [registry],
});

export const lagPollErrors = new Counter({
  name: 'learn_consumer_lag_poll_errors_total',
  help: 'Failed consumer-lag measurements (broker or coordinator unreachable)',
  labelNames: ['group'] as const,
  registers: [registry],
});

export interface LagSource {
  groupId: string;
  topics: string[];
  /** Offsets processed in this process (ConsumerRunner.processedOffsets), fresher than the group's commits. */
  positions?: () => PartitionOffsets;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  high: string;
  position: string;
  lag: number;
}

export interface LagSnapshot {
  at: number;
  groupState: string;
  members: number;
  partitions: PartitionLag[];
  maxLag: number;
}

/**
 * Measures a consumer group's lag every `intervalMs` from the broker (end offsets vs the group's committed
 * offsets, or this process's processed offsets where they are further on) and publishes it as
 * `learn_consumer_lag`. `check()` is the readiness verdict: a fresh measurement, a stable group with members,
 * and every partition within `maxLag`.
 */
export class ConsumerLagMonitor {
  private last: LagSnapshot | undefined;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly l;

  constructor(
    private readonly admin: Admin,
    private readonly source: LagSource,
    private readonly opts: { intervalMs: number; maxLag: number },
  ) {
    this.l = log('ops.lag').child({ group: source.groupId });
  }

  /** Measures once now, then every interval. */
  async start(): Promise<void> {
    await this.pollOnce();
    this.timer = setInterval(() => void this.pollOnce(), this.opts.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  snapshot(): LagSnapshot | undefined {
    return this.last;
  }

  /** One measurement (concurrent callers share it); failures are counted and logged, never thrown. */
  pollOnce(): Promise<void> {
    this.polling ??= this.measure()
      .then((s) => {
        this.last = s;
        if (this.lastError !== undefined) this.l.info('consumer lag measured again');
        this.lastError = undefined;
      })
      .catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        lagPollErrors.inc({ group: this.source.groupId });
        if (message !== this.lastError) this.l.warn({ error: message }, 'consumer lag measurement failed');
        this.lastError = message;
      })
      .finally(() => {
        this.polling = undefined;
      });
    return this.polling;
  }

  private async measure(): Promise<LagSnapshot> {
    const { groupId, topics } = this.source;
    // allSettled, not all: a measurement ends only when none of its requests is still retrying in the background.
    const [endsR, committedR, describedR] = await Promise.allSettled([
      Promise.all(topics.map(async (topic) => ({ topic, partitions: await this.admin.fetchTopicOffsets(topic) }))),
      this.admin.fetchOffsets({ groupId, topics }),
      this.admin.describeGroups([groupId]),
    ]);
    if (endsR.status === 'rejected') throw endsR.reason;
    if (committedR.status === 'rejected') throw committedR.reason;
    if (describedR.status === 'rejected') throw describedR.reason;
    const [ends, committed, described] = [endsR.value, committedR.value, describedR.value];
    const processed = this.source.positions?.() ?? new Map<string, Map<number, string>>();
    const partitions: PartitionLag[] = [];
    for (const { topic, partitions: ps } of ends) {
      const group = committed.find((c) => c.topic === topic)?.partitions ?? [];
      for (const p of ps) {
        const commit = group.find((g) => g.partition === p.partition)?.offset ?? '-1';
        const position = maxOffset(
          // Nothing committed yet: the group starts from the earliest retained offset.
          BigInt(commit) >= 0n ? BigInt(commit) : BigInt(p.low),
          BigInt(processed.get(topic)?.get(p.partition) ?? '-1'),
        );
        const lag = Number(BigInt(p.high) > position ? BigInt(p.high) - position : 0n);
        partitions.push({ topic, partition: p.partition, high: p.high, position: position.toString(), lag });
        consumerLag.set({ group: groupId, topic, partition: String(p.partition) }, lag);
      }
    }
    const g = described.groups[0];
    consumerGroupMembers.set({ group: groupId }, g?.members.length ?? 0);
    return {
      at: Date.now(),
      groupState: g?.state ?? 'Unknown',
      members: g?.members.length ?? 0,
      partitions,
      maxLag: partitions.reduce((m, p) => Math.max(m, p.lag), 0),
    };
  }

  /** Ready: measured recently, the group is Stable with members, and no partition lags by more than maxLag. */
  check(now = Date.now()): CheckResult {
    const s = this.last;
    const staleAfter = 3 * this.opts.intervalMs + 10_000;
    if (!s) return { ok: false, detail: { reason: 'lag not measured yet', error: this.lastError } };
    const detail = { groupState: s.groupState, members: s.members, maxLag: s.maxLag, limit: this.opts.maxLag, ageMs: now - s.at };
    if (now - s.at > staleAfter) return { ok: false, detail: { ...detail, reason: 'lag measurement stale', error: this.lastError } };
    if (s.groupState !== 'Stable' || s.members === 0) return { ok: false, detail: { ...detail, reason: 'consumer group not stable' } };
    const behind = s.partitions.filter((p) => p.lag > this.opts.maxLag);
    if (behind.length > 0) {
      return { ok: false, detail: { ...detail, reason: 'lagging', partitions: behind.map((p) => `${p.topic}/${p.partition}:${p.lag}`) } };
    }
    return { ok: true, detail };
  }
}

function maxOffset(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
