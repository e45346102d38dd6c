// Paired comparisons of two replays (or two methods of one): the difference in Recall@10 with a bootstrap confidence
// interval over users, since a user's events are not independent of each other.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../model/index.js';

/** Per user: [events, hits@10, NDCG@10 sum, cold-item events, cold-item hits@10] (ReplayReport.perUser). */
export type PerUser = Record<string, [number, number, number, number, number]>;

/**
 * One method's per-user metrics from a replay report: `path` is the report's metrics.json or the run folder that
 * holds it (what `learn replay --out` names), so either can be passed to `learn compare`.
 */
export function readPerUser(path: string, method: string): PerUser {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'metrics.json') : path;
  if (!existsSync(file)) throw new Error(`no replay report at ${file} (give a run folder or its metrics.json)`);
  const report = JSON.parse(readFileSync(file, 'utf8')) as { perUser?: Partial<Record<string, PerUser>> };
  const per = report.perUser?.[method];
  if (!per) throw new Error(`${file} has no per-user metrics for method "${method}"`);
  return per;
}

export interface Difference {
  /** Mean of b minus mean of a, over the events of the users both have. */
  delta: number;
  /** delta / mean of a. */
  relative: number;
  /** 95% percentile bootstrap interval of delta, resampling users. */
  ci95: [number, number];
  a: number;
  b: number;
  users: number;
}

export interface Comparison {
  recall10: Difference;
  ndcg10: Difference;
  coldRecall10: Difference;
}

/** Compares b against a on the users both scored, resampling users `iterations` times. */
export function compareRuns(a: PerUser, b: PerUser, iterations = 2000, seed = 1): Comparison {
  const users = Object.keys(a).filter((u) => b[u] !== undefined);
  const col = (which: PerUser, k: number): Float64Array => Float64Array.from(users, (u) => (which[u] as number[])[k] as number);
  const events = col(a, 0);
  const coldEvents = col(a, 3);
  const rng = new Rng(seed);
  const diff = (num: number, den: Float64Array): Difference => {
    const na = col(a, num);
    const nb = col(b, num);
    const mean = (xs: Float64Array, pick: Int32Array | null): number => {
      let s = 0;
      let d = 0;
      for (let i = 0; i < users.length; i++) {
        const j = pick ? (pick[i] as number) : i;
        s += xs[j] as number;
        d += den[j] as number;
      }
      return d > 0 ? s / d : 0;
    };
    const ma = mean(na, null);
    const mb = mean(nb, null);
    const deltas: number[] = [];
    const pick = new Int32Array(users.length);
    for (let it = 0; it < iterations; it++) {
      for (let i = 0; i < users.length; i++) pick[i] = rng.int(users.length);
      deltas.push(mean(nb, pick) - mean(na, pick));
    }
    deltas.sort((x, y) => x - y);
    const q = (p: number): number => deltas[Math.min(deltas.length - 1, Math.floor(p * deltas.length))] ?? 0;
    return { delta: mb - ma, relative: ma > 0 ? (mb - ma) / ma : 0, ci95: [q(0.025), q(0.975)], a: ma, b: mb, users: users.length };
  };
  return { recall10: diff(1, events), ndcg10: diff(2, events), coldRecall10: diff(4, coldEvents) };
}
