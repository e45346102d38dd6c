import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/**
 * CPUs this process may keep busy: the host's schedulable CPUs (`availableParallelism`, which honours the affinity
 * mask), capped by a cgroup CPU quota. A container limited to 2 CPUs on a 64-core host still sees 64 CPUs through
 * `availableParallelism`; thread pools sized from that (TensorFlow's, the HNSW build's, llama.cpp's) then spend the
 * quota in a few milliseconds of each period and are throttled for the rest.
 */
export function usableCpus(read: (path: string) => string | undefined = readText): number {
  const host = availableParallelism();
  const quota = cgroupCpuQuota(read);
  return quota === undefined ? host : Math.max(1, Math.min(host, quota));
}

/**
 * The tightest CPU quota over the process's cgroup and its ancestors, in whole CPUs (rounded down, so a thread pool of
 * that size is not throttled; at least 1), or undefined where none is set or none can be read. Cgroup v2's `cpu.max`
 * is read along the unified hierarchy's path; v1's `cpu.cfs_quota_us` / `cpu.cfs_period_us` along the cpu
 * controller's.
 */
export function cgroupCpuQuota(read: (path: string) => string | undefined = readText): number | undefined {
  const membership = read('/proc/self/cgroup');
  if (membership === undefined) return undefined;
  const quotas: number[] = [];
  for (const { controllers, path } of parseCgroupMembership(membership)) {
    if (controllers.length === 0) {
      for (const dir of ancestors(trimSlash(join('/sys/fs/cgroup', path)), '/sys/fs/cgroup')) {
        const q = parseCpuMax(read(join(dir, 'cpu.max')));
        if (q !== undefined) quotas.push(q);
      }
    } else if (controllers.includes('cpu')) {
      for (const root of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
        for (const dir of ancestors(trimSlash(join(root, path)), root)) {
          const q = parseCfsQuota(read(join(dir, 'cpu.cfs_quota_us')), read(join(dir, 'cpu.cfs_period_us')));
          if (q !== undefined) quotas.push(q);
        }
      }
    }
  }
  return quotas.length === 0 ? undefined : Math.min(...quotas);
}

/** `/proc/self/cgroup` lines `id:controllers:path`; the unified (v2) hierarchy has no controllers. */
export function parseCgroupMembership(text: string): { controllers: string[]; path: string }[] {
  return text
    .split('\n')
    .map((line) => /^\d+:([^:]*):(.*)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ controllers: (m[1] ?? '').split(',').filter((c) => c.length > 0), path: m[2] ?? '/' }));
}

/** Cgroup v2 `cpu.max`: "QUOTA PERIOD" in microseconds, or "max PERIOD" for no limit. */
export function parseCpuMax(text: string | undefined): number | undefined {
  const [quota, period] = (text ?? '').trim().split(/\s+/);
  if (quota === undefined || quota === 'max' || period === undefined) return undefined;
  return wholeCpus(Number(quota), Number(period));
}

/** Cgroup v1: `cpu.cfs_quota_us` (-1 for no limit) over `cpu.cfs_period_us`. */
export function parseCfsQuota(quota: string | undefined, period: string | undefined): number | undefined {
  if (quota === undefined || period === undefined) return undefined;
  return wholeCpus(Number(quota.trim()), Number(period.trim()));
}

function wholeCpus(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.max(1, Math.floor(quota / period));
}

/** `dir` and each folder above it, up to and including `root`. */
function ancestors(dir: string, root: string): string[] {
  const out: string[] = [];
  for (let d = dir; d.startsWith(root); d = d.slice(0, Math.max(d.lastIndexOf('/'), 0))) {
    out.push(d);
    if (d === root) break;
  }
  return out;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}
