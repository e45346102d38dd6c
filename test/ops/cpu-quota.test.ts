import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { cgroupCpuQuota, parseCfsQuota, parseCgroupMembership, parseCpuMax, usableCpus } from '../../src/ops/cpu-quota.js';

/** A reader over a fixed file tree: absent paths read as undefined, as unreadable files do. */
function files(tree: Record<string, string>): (path: string) => string | undefined {
  return (path) => tree[path];
}

describe('cpu quota', () => {
  it('parses cgroup v2 cpu.max: a quota in whole CPUs, rounded down, at least 1; "max" is no limit', () => {
    assert.equal(parseCpuMax('200000 100000\n'), 2);
    assert.equal(parseCpuMax('150000 100000'), 1);
    assert.equal(parseCpuMax('50000 100000'), 1);
    assert.equal(parseCpuMax('max 100000'), undefined);
    assert.equal(parseCpuMax(''), undefined);
    assert.equal(parseCpuMax(undefined), undefined);
    assert.equal(parseCpuMax('garbage 100000'), undefined);
  });

  it('parses cgroup v1 cfs quota and period; -1 is no limit', () => {
    assert.equal(parseCfsQuota('400000\n', '100000\n'), 4);
    assert.equal(parseCfsQuota('-1', '100000'), undefined);
    assert.equal(parseCfsQuota(undefined, '100000'), undefined);
  });

  it('parses /proc/self/cgroup lines of both hierarchies', () => {
    assert.deepEqual(parseCgroupMembership('12:cpu,cpuacct:/kubepods/pod1\n0::/user.slice/a.scope\nnot a line\n'), [
      { controllers: ['cpu', 'cpuacct'], path: '/kubepods/pod1' },
      { controllers: [], path: '/user.slice/a.scope' },
    ]);
  });

  it('takes the tightest quota along the v2 path, the process cgroup and its ancestors', () => {
    const read = files({
      '/proc/self/cgroup': '0::/kubepods/pod1/c1\n',
      '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': 'max 100000',
      '/sys/fs/cgroup/kubepods/pod1/cpu.max': '300000 100000',
      '/sys/fs/cgroup/kubepods/cpu.max': '800000 100000',
    });
    assert.equal(cgroupCpuQuota(read), 3);
  });

  it('reads a v1 cpu controller under either mount name', () => {
    const read = files({
      '/proc/self/cgroup': '4:memory:/x\n3:cpu,cpuacct:/docker/abc\n',
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '100000',
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000',
    });
    assert.equal(cgroupCpuQuota(read), 1);
  });

  it('reads the root cgroup of a namespaced container (path "/")', () => {
    const read = files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '200000 100000' });
    assert.equal(cgroupCpuQuota(read), 2);
  });

  it('has no quota where nothing can be read, and then uses every schedulable CPU', () => {
    assert.equal(cgroupCpuQuota(files({})), undefined);
    assert.equal(cgroupCpuQuota(files({ '/proc/self/cgroup': '0::/\n' })), undefined);
    assert.equal(usableCpus(files({})), availableParallelism());
  });

  it('caps the schedulable CPUs at the quota, never above them', () => {
    const quotaOf = (cpus: number) => files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': `${cpus * 100000} 100000` });
    assert.equal(usableCpus(quotaOf(1)), 1);
    assert.equal(usableCpus(quotaOf(availableParallelism() + 8)), availableParallelism());
  });
});
