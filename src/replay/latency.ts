// Freshness latencies measured during a replay: how long from a record's production to its effect.

/** Upper bucket edges in ms (the last bucket is open-ended). */
export const LATENCY_BUCKETS_MS: readonly number[] = [10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 120_000, 300_000];

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Counts per bucket: buckets[i] counts values <= LATENCY_BUCKETS_MS[i] (and above the previous edge); the last is "more". */
  buckets: Array<{ le: number | null; count: number }>;
}

/** Keeps every sample (a replay has at most a few hundred thousand) so percentiles are exact. */
export class LatencyRecorder {
  private readonly samples: number[] = [];

  record(ms: number): void {
    if (Number.isFinite(ms)) this.samples.push(Math.max(0, ms));
  }

  get count(): number {
    return this.samples.length;
  }

  summary(): LatencySummary {
    const s = [...this.samples].sort((a, b) => a - b);
    const q = (p: number): number => (s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.floor(p * s.length))] as number));
    const counts = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    for (const v of s) {
      const i = LATENCY_BUCKETS_MS.findIndex((edge) => v <= edge);
      counts[i < 0 ? LATENCY_BUCKETS_MS.length : i]!++;
    }
    const round = (x: number): number => Math.round(x * 10) / 10;
    return {
      count: s.length,
      meanMs: round(s.length === 0 ? 0 : s.reduce((a, b) => a + b, 0) / s.length),
      p50Ms: round(q(0.5)),
      p90Ms: round(q(0.9)),
      p99Ms: round(q(0.99)),
      maxMs: round(s.at(-1) ?? 0),
      buckets: counts.map((count, i) => ({ le: LATENCY_BUCKETS_MS[i] ?? null, count })),
    };
  }
}
