import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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

test('an armed hang point blocks the calling thread the n-th time it is reached (the process never gets further)', () => {
  const module = fileURLToPath(new URL('../../src/ops/fault-injection.js', import.meta.url));
  const script = `const f = await import(${JSON.stringify(module)});
f.armFaultHang({ point: 'train-step', n: 2 });
for (let i = 1; i <= 5; i++) { f.hangPoint('checkpoint-write'); console.log('train-step reached', i); f.hangPoint('train-step'); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 3_000 });
  assert.equal(r.signal, 'SIGTERM', 'still blocked when the 3 s timeout killed it');
  assert.equal(r.stdout.trim().split('\n').at(-1), 'train-step reached 2');
  assert.match(r.stderr, /fault injection: hanging at train-step #2/);
});
