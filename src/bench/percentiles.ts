/** Nearest-rank percentiles of a sample, rounded to 0.1 ms: what the benches print. */
export interface LatencySummary {
  n: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function summarise(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!);
  const round = (x: number) => Math.round(x * 10) / 10;
  return { n: sorted.length, p50Ms: round(at(50)), p99Ms: round(at(99)), maxMs: round(sorted.at(-1) ?? Number.NaN) };
}
