import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { redisUrl, type Config } from '../../src/config/load.js';
import { StoreError, VectorStore } from '../../src/store/index.js';
import { trainerLeaseKeys } from '../../src/store/keys.js';
import { createRedisClient } from '../../src/store/redis-client.js';
import { PipelineLease, PipelineLeasedError } from '../../src/trainer/pipeline-lease.js';
import { startTrainerRole } from '../../src/trainer/role.js';
import { trainerGroup } from '../../src/trainer/trainer.js';
import { Rng } from '../../src/model/index.js';
import { SMALL_TRAINER_ENV, publishContents, randomContents } from '../support/pipeline.js';
import { ensureStack, pipelineConfig, uniqueGroup } from '../support/stack.js';
import { dropPrefix, plainClient, uniquePrefix } from '../store/helpers.js';

// Issue 23 §2, §3: the trainer's lease on its pipeline, in the real Redis of the stack.

let url: string;
const dirs: string[] = [];
const freshDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'learn-lease-'));
  dirs.push(d);
  return d;
};
before(async () => {
  url = redisUrl(await ensureStack());
});
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const noop = (): void => undefined;

test('a lease from another host that is no longer renewed expires, and a new trainer takes over with a higher token', { timeout: 60_000 }, async () => {
  const group = uniqueGroup('lease-host');
  const keys = trainerLeaseKeys(group, 'events');
  const plain = await plainClient(url);
  const redis = createRedisClient(url, 'lease');
  try {
    // A pod SIGKILLed on another node: its lease stays until its TTL, then nothing renews it.
    const dead = await plain.incr(keys.token);
    await plain.set(keys.lease, `${dead} ${JSON.stringify({ host: 'trainer-7f9c-old-pod', pid: 1, since: '2026-01-01T00:00:00Z', stateDir: '/state' })}`, 'PX', 2_500);
    const started = Date.now();
    const lease = await PipelineLease.acquire(redis, { group, topic: 'events', stateDir: freshDir(), ttlMs: 1_500, onToken: noop, onLost: noop });
    try {
      assert.ok(Date.now() - started >= 1_500, 'waited for the old lease to lapse');
      assert.ok(lease.token > dead, `a higher fencing token (${lease.token} > ${dead})`);
      assert.ok(lease.held());
      // Renewed while it lives: still ours three TTLs later.
      await new Promise((r) => setTimeout(r, 4_500));
      assert.match((await plain.get(keys.lease)) ?? '', new RegExp(`^${lease.token} `));
      assert.ok(lease.held());
    } finally {
      await lease.release();
    }
    assert.equal(await plain.get(keys.lease), null, 'released at a clean stop');
  } finally {
    plain.disconnect();
    redis.disconnect();
  }
});

test('a lease renewed by a live trainer on another host is respected: refused, naming that trainer', { timeout: 60_000 }, async () => {
  const group = uniqueGroup('lease-live');
  const keys = trainerLeaseKeys(group, 'events');
  const plain = await plainClient(url);
  const redis = createRedisClient(url, 'lease');
  const value = `${await plain.incr(keys.token)} ${JSON.stringify({ host: 'trainer-other-node', pid: 7, since: '2026-12-06T10:00:00Z', stateDir: '/state' })}`;
  await plain.set(keys.lease, value, 'PX', 1_500);
  const renewer = setInterval(() => void plain.pexpire(keys.lease, 1_500), 400);
  try {
    await assert.rejects(
      PipelineLease.acquire(redis, { group, topic: 'events', stateDir: freshDir(), ttlMs: 1_500, onToken: noop, onLost: noop }),
      (err: unknown) => err instanceof PipelineLeasedError && /pid 7 on trainer-other-node since 2026-12-06T10:00:00Z/.test(err.message),
    );
  } finally {
    clearInterval(renewer);
    plain.disconnect();
    redis.disconnect();
  }
});

test('a zombie trainer (paused past its lease) is refused by the store once its successor has written', { timeout: 60_000 }, async () => {
  const group = uniqueGroup('lease-zombie');
  const prefix = uniquePrefix('zombie');
  const plain = await plainClient(url);
  const redisA = createRedisClient(url, 'lease');
  const redisB = createRedisClient(url, 'lease');
  const storeA = await VectorStore.open({ redisUrl: url, prefix });
  const storeB = await VectorStore.open({ redisUrl: url, prefix });
  let lostA: PipelineLeasedError | undefined;
  const fencedA: StoreError[] = [];
  storeA.on('fenced', (err) => fencedA.push(err));
  try {
    const a = await PipelineLease.acquire(redisA, { group, topic: 'events', stateDir: '/a', ttlMs: 1_000, onToken: noop, onLost: (err) => (lostA = err) });
    storeA.setFence(a.token);
    const version = await storeA.beginVersion({ dim: 2 });
    await storeA.publishVersion(version);
    const v = (x: number): Float32Array => new Float32Array([x, x]);
    assert.equal((await storeA.writeUserVectors(version, [{ id: 'u1', vector: v(1), eventTime: 1 }])).applied, 1);

    // A stops renewing (paused: its connection cut): its lease lapses and B takes over, writes and switches a version.
    redisA.disconnect();
    await new Promise((r) => setTimeout(r, 1_300));
    const b = await PipelineLease.acquire(redisB, { group, topic: 'events', stateDir: '/b', ttlMs: 1_000, onToken: noop, onLost: noop });
    storeB.setFence(b.token);
    assert.ok(b.token > a.token);
    assert.equal((await storeB.writeUserVectors(version, [{ id: 'u1', vector: v(2), eventTime: 2, order: 2 }])).applied, 1);
    const next = await storeB.beginVersion({ dim: 2 });
    await storeB.publishVersion(next);

    // A wakes up: its writes, deletes and version switches are refused, and it learns it lost the lease.
    const late = await storeA.writeUserVectors(version, [{ id: 'u1', vector: v(9), eventTime: 3, order: 9 }]);
    assert.deepEqual(late.rejected, [{ id: 'u1', reason: 'fenced' }]);
    assert.ok(fencedA.length >= 1, 'the store tells its owner');
    const bytes = await plain.getBuffer(storeB.keys.user(version, 'u1'));
    assert.deepEqual([...new Float32Array(bytes!.buffer, bytes!.byteOffset, 2)], [2, 2], "the successor's vector stands");
    await assert.rejects(storeA.deleteItemVectors(version, ['i1'], 10), (err: unknown) => err instanceof StoreError && err.code === 'fenced');
    const zombieVersion = await storeA.beginVersion({ dim: 2 });
    await assert.rejects(storeA.publishVersion(zombieVersion), (err: unknown) => err instanceof StoreError && err.code === 'fenced');
    assert.equal(await storeB.currentVersion(), next, 'readers stay on the successor\'s version');
    await redisA.connect();
    await new Promise((r) => setTimeout(r, 1_000));
    assert.ok(lostA instanceof PipelineLeasedError && lostA.message.includes('/b'), `the zombie's renewal finds the lease taken (${String(lostA)})`);
    assert.equal(a.held(), false);
    await b.release();
  } finally {
    await storeA.close();
    await storeB.close();
    redisA.disconnect();
    redisB.disconnect();
    plain.disconnect();
    await dropPrefix(url, prefix);
  }
});

test('two trainers of one pipeline (same group and topics) with different state directories: the second refuses to start, naming the first', { timeout: 180_000 }, async () => {
  const env = { ...SMALL_TRAINER_ENV, LEARN_PUBLISH_VECTORS: 'false' };
  const first: Config = await pipelineConfig('lease-two', { stateDir: freshDir(), env });
  const second: Config = { ...first, stateDir: freshDir() };
  await publishContents(first, randomContents('lt', 3, 16, new Rng(1)));
  // The first trainer's lock file, as a dead pod on another host would have left it in the second's state directory.
  writeFileSync(join(second.stateDir, 'trainer.lock'), JSON.stringify({ pid: 4242, host: 'some-other-host', since: '2026-01-01T00:00:00Z' }));
  const a = await startTrainerRole(first, {}, { exitOnFailure: false });
  try {
    await assert.rejects(startTrainerRole(second, {}, { exitOnFailure: false }), (err: unknown) => {
      assert.ok(err instanceof PipelineLeasedError, String(err));
      assert.match(err.message, new RegExp(`pipeline ${trainerGroup(first)}/${first.topicUserEvents} is held by trainer pid ${process.pid} on .* since \\d{4}-`));
      assert.ok(err.message.includes(first.stateDir), 'names the first one\'s state directory');
      return true;
    });
  } finally {
    await a.stop();
  }
  // With the first stopped, the second starts (and takes over the other host's stale lock file: it holds the lease).
  const b = await startTrainerRole(second, {}, { exitOnFailure: false });
  assert.ok(b.lease.token > a.lease.token);
  await b.stop();
});
