import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../src/config/load.js';

// LEARN_FAULT_KILL_AT (the fault matrix's precise kills): validated at start, and it kills at the n-th reach only.

test('LEARN_FAULT_KILL_AT is off by default, parsed as <point>:<n>, and refused naming the field otherwise', () => {
  assert.equal(loadConfig({}).faultKillAt, undefined);
  assert.deepEqual(loadConfig({ LEARN_FAULT_KILL_AT: 'dlq-write:3' }).faultKillAt, { point: 'dlq-write', n: 3 });
  for (const bad of ['dlq-write', 'dlq-write:0', 'nowhere:1', 'checkpoint-write:1x']) {
    assert.throws(() => loadConfig({ LEARN_FAULT_KILL_AT: bad }), (err: unknown) => err instanceof ConfigError && err.message.includes('LEARN_FAULT_KILL_AT'), bad);
  }
});

test('an armed point SIGKILLs the process the n-th time it is reached, and no other point does', () => {
  const module = fileURLToPath(new URL('../../src/ops/fault-injection.js', import.meta.url));
  const script = `const f = await import(${JSON.stringify(module)});
f.armFaultKill({ point: 'dlq-write', n: 3 });
for (let i = 1; i <= 5; i++) { f.faultPoint('checkpoint-write'); console.log('dlq-write reached', i); f.faultPoint('dlq-write'); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(r.stdout.trim().split('\n').at(-1), 'dlq-write reached 3');
  assert.match(r.stderr, /fault injection: SIGKILL at dlq-write #3/);
});

test('LEARN_FAULT_HANG_AT is off by default, parsed as <point>:<n>, and refused naming the field otherwise', () => {
  assert.equal(loadConfig({}).faultHangAt, undefined);
  assert.deepEqual(loadConfig({ LEARN_FAULT_HANG_AT: 'train-step:2' }).faultHangAt, { point: 'train-step', n: 2 });
  for (const bad of ['train-step', 'train-step:0', 'dlq-write:1']) {
    assert.throws(() => loadConfig({ LEARN_FAULT_HANG_AT: bad }), (err: unknown) => err instanceof ConfigError && err.message.includes('LEARN_FAULT_HANG_AT'), bad);
  }
});

test('an armed hang point blocks the calling thread the n-th time it is reached (the process never gets further)', async () => {
  const module = fileURLToPath(new URL('../../src/ops/fault-injection.js', import.meta.url));
  const script = `const f = await import(${JSON.stringify(module)});
f.armFaultHang({ point: 'train-step', n: 2 });
for (let i = 1; i <= 5; i++) { f.hangPoint('checkpoint-write'); console.log('train-step reached', i); f.hangPoint('train-step'); }`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    const deadline = Date.now() + 30_000;
    while (!stderr.includes('hanging at') && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.match(stderr, /fault injection: hanging at train-step #2/);
    // Blocked: a second later it has printed nothing more and is still running.
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(child.exitCode, null, 'still blocked');
    assert.equal(stdout.trim().split('\n').at(-1), 'train-step reached 2');
  } finally {
    child.kill('SIGKILL');
  }
});
