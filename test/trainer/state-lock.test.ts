import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StateDirLock, StateDirLockedError } from '../../src/trainer/state-lock.js';

const dirs: string[] = [];
const freshDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'learn-state-lock-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('one holder per state directory in a process; release lets the next one in', () => {
  const dir = freshDir();
  const lock = StateDirLock.acquire(dir);
  assert.equal(JSON.parse(readFileSync(join(dir, 'trainer.lock'), 'utf8')).pid, process.pid);
  assert.throws(() => StateDirLock.acquire(dir), StateDirLockedError);
  lock.release();
  assert.equal(existsSync(join(dir, 'trainer.lock')), false);
  StateDirLock.acquire(dir).release();
});

test('a lock held by another live process is refused with its pid; once that process is SIGKILLed it is taken over', async () => {
  const dir = freshDir();
  const module = fileURLToPath(new URL('../../src/trainer/state-lock.js', import.meta.url));
  const child = spawn(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(module)}); m.StateDirLock.acquire(${JSON.stringify(dir)}); console.log('held'); setInterval(() => {}, 1000);`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await once(child.stdout!, 'data');
    assert.throws(
      () => StateDirLock.acquire(dir),
      (err: unknown) => err instanceof StateDirLockedError && err.message.includes(`pid ${child.pid}`) && err.message.includes('One trainer per LEARN_STATE_DIR'),
    );
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
  const lock = StateDirLock.acquire(dir);
  assert.equal(JSON.parse(readFileSync(join(dir, 'trainer.lock'), 'utf8')).pid, process.pid);
  lock.release();
});

test('a lock from another host cannot be checked: respected, unless this trainer holds the pipeline lease (then its holder is gone)', () => {
  const dir = freshDir();
  writeFileSync(join(dir, 'trainer.lock'), JSON.stringify({ pid: 4242, host: 'some-other-host', since: '2026-01-01T00:00:00Z' }));
  assert.throws(() => StateDirLock.acquire(dir), /held by trainer pid 4242 on some-other-host.*remove the file/);
  // Issue 23 §2: a replaced pod has a new hostname; with the lease (renewed by any live trainer) the file is stale.
  const lock = StateDirLock.acquire(dir, { leaseHeld: true });
  assert.equal(JSON.parse(readFileSync(join(dir, 'trainer.lock'), 'utf8')).pid, process.pid);
  lock.release();
});
