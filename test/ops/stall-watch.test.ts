import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { StallWatch } from '../../src/ops/stall-watch.js';

// The watchdog over operations that must settle: pure logic, driven by a fake clock and explicit checks.

function watchWithClock(timeoutMs: number) {
  let now = 1_000;
  const stalls: Error[] = [];
  const lines: Array<{ msg: string; operation?: string }> = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg: string; operation?: string }) });
  const watch = new StallWatch({ component: 'test', timeoutMs, log, onStall: (err) => stalls.push(err), now: () => now, checkEveryMs: 60_000 });
  return { watch, stalls, lines, advance: (ms: number) => (now += ms) };
}

test('an operation that settles in time is forgotten; one in flight past half the bound is logged once, past the bound fails once, named', async () => {
  const { watch, stalls, lines, advance } = watchWithClock(10_000);
  await watch.track('quick', Promise.resolve(1));
  let settle: (v: string) => void = () => undefined;
  const slow = watch.track('training step', new Promise<string>((r) => (settle = r)));
  advance(4_999);
  watch.check();
  assert.equal(lines.length, 0);
  advance(1);
  watch.check();
  watch.check();
  assert.deepEqual(lines.map((l) => [l.msg, l.operation]), [['operation still in flight past half of LEARN_STALL_TIMEOUT_MS', 'training step']]);
  assert.equal(stalls.length, 0);
  advance(5_000);
  watch.check();
  watch.check();
  assert.equal(stalls.length, 1, 'told once');
  assert.match(stalls[0]!.message, /test: training step has not settled in 10000 ms \(LEARN_STALL_TIMEOUT_MS=10000\)/);
  settle('late');
  assert.equal(await slow, 'late', 'the watched promise still settles as it would');
  assert.deepEqual(watch.operations(), []);
  watch.close();
});

test('a rejection passes through, and the in-flight list names every operation, oldest first', async () => {
  const { watch, advance } = watchWithClock(10_000);
  const never = watch.track('checkpoint: file write', new Promise<void>(() => undefined));
  void never;
  advance(3_000);
  const inner = watch.track('checkpoint: vector gate', new Promise<void>(() => undefined));
  void inner;
  advance(1_000);
  assert.deepEqual(watch.operations(), [
    { label: 'checkpoint: file write', ms: 4_000 },
    { label: 'checkpoint: vector gate', ms: 1_000 },
  ]);
  await assert.rejects(watch.track('dead-letter write', Promise.reject(new Error('broker away'))), /broker away/);
  assert.equal(watch.operations().length, 2);
  watch.close();
  assert.deepEqual(watch.operations(), []);
});

test('a stall is named after the innermost operation stuck past half the bound, not the turn around it or a fresh one beside it', () => {
  const { watch, stalls, advance } = watchWithClock(10_000);
  void watch.track('after-step checkpoint', new Promise<void>(() => undefined), { enclosing: true });
  advance(100);
  void watch.track('checkpoint: file write', new Promise<void>(() => undefined));
  advance(9_850);
  void watch.track('training step', new Promise<void>(() => undefined));
  advance(50);
  watch.check();
  assert.equal(stalls.length, 1);
  assert.match(stalls[0]!.message, /^test: checkpoint: file write has not settled in 9900 ms/);
  watch.close();
  void watch.track('after close', new Promise<void>(() => undefined));
  assert.deepEqual(watch.operations(), [], 'a closed watch watches nothing more');
});

test('a turn stuck on something unwatched is named itself', () => {
  const { watch, stalls, advance } = watchWithClock(10_000);
  void watch.track('window timer', new Promise<void>(() => undefined), { enclosing: true });
  advance(10_000);
  watch.check();
  assert.match(stalls[0]!.message, /^test: window timer has not settled in 10000 ms/);
  watch.close();
});
