import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { isAlive } from '../../src/stack/process.js';
import { stackDown, stackStatus, stackUp } from '../../src/stack/stack.js';

// A second, private stack on other ports and in a temporary folder, so that taking it down does not
// disturb the shared stack the other suites use.
const dir = mkdtempSync(join(tmpdir(), 'learn-stack-test-'));
const cfg = loadConfig({
  LEARN_STACK_DIR: dir,
  LEARN_KAFKA_PORT: '19192',
  LEARN_KAFKA_CONTROLLER_PORT: '19193',
  LEARN_REDIS_PORT: '16479',
});

after(async () => {
  await stackDown(cfg);
  rmSync(dir, { recursive: true, force: true });
});

test('stack up starts Kafka and Redis; a second up is harmless; down leaves no stack process alive', { timeout: 240_000 }, async () => {
  const first = await stackUp(cfg);
  const kafka = first.find((s) => s.service === 'kafka');
  const redis = first.find((s) => s.service === 'redis');
  assert.equal(kafka?.state, 'running');
  assert.equal(redis?.state, 'running');
  assert.equal(kafka?.note, 'started');
  const pids = [kafka?.pid, redis?.pid];
  assert.ok(pids.every((p) => typeof p === 'number' && isAlive(p)));

  const second = await stackUp(cfg);
  assert.deepEqual(
    second.map((s) => [s.service, s.state, s.pid, s.note]),
    [
      ['kafka', 'running', kafka?.pid, 'already running'],
      ['redis', 'running', redis?.pid, 'already running'],
    ],
  );

  const status = await stackStatus(cfg);
  assert.ok(status.every((s) => s.state === 'running' && s.answers === true), JSON.stringify(status));

  const down = await stackDown(cfg);
  assert.ok(down.every((s) => s.state === 'stopped' && s.note !== 'not-running'), JSON.stringify(down));
  for (const pid of pids) assert.equal(isAlive(pid as number), false, `pid ${pid} still alive after stack down`);
  const after = await stackStatus(cfg);
  assert.ok(after.every((s) => s.state === 'stopped' && s.answers === false), JSON.stringify(after));
});

test('a bad port fails fast naming the field', () => {
  assert.throws(() => loadConfig({ LEARN_KAFKA_PORT: '70000' }), /LEARN_KAFKA_PORT \(kafkaPort\)/);
});
