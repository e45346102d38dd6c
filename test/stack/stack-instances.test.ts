import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { loadConfig, type Config } from '../../src/config/load.js';
import { kafkaFiles, kafkaProcess } from '../../src/stack/kafka-broker.js';
import { isAlive, listensOn, runningPid, stopProcess } from '../../src/stack/process.js';
import { redisAnswers, redisDown, redisFiles, redisProcess, redisStatus, redisUp } from '../../src/stack/redis-server.js';
import { freePort } from '../ops/free-port.js';

// One stack folder used with two port settings: each instance's `up`, `down` and `status` act on it alone.
const dir = mkdtempSync(join(tmpdir(), 'learn-stack-instances-'));
const started: number[] = [];
const config = (redisPort: number, kafkaPort = 19_000): Config =>
  loadConfig({ LEARN_STACK_DIR: dir, LEARN_REDIS_PORT: String(redisPort), LEARN_KAFKA_PORT: String(kafkaPort), LEARN_KAFKA_CONTROLLER_PORT: String(kafkaPort + 1) });
const answers = (cfg: Config): Promise<boolean> => redisAnswers(`redis://127.0.0.1:${cfg.redisPort}`);

after(async () => {
  // Whatever a failed assertion left running is stopped here, by the pids this test saw start.
  for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
  return !isAlive(pid);
}

test('two Redis instances from one stack folder: each down stops exactly its own, sharing no file', { timeout: 60_000 }, async () => {
  const a = config(await freePort());
  const b = config(await freePort());
  const upA = await redisUp(a);
  const upB = await redisUp(b);
  assert.equal(upA.note, 'started');
  assert.equal(upB.note, 'started');
  const pidA = upA.pid as number;
  const pidB = upB.pid as number;
  started.push(pidA, pidB);
  assert.notEqual(pidA, pidB);
  assert.ok(isAlive(pidA) && isAlive(pidB));
  assert.equal((await redisStatus(a)).pid, pidA);
  assert.equal((await redisStatus(b)).pid, pidB);
  assert.equal((await redisUp(a)).note, 'already running');

  const downA = await redisDown(a);
  assert.equal(downA.note, 'stopped');
  assert.ok(await gone(pidA), `redis ${pidA} on ${a.redisPort} still alive after its down`);
  assert.equal(await answers(a), false);
  assert.ok(isAlive(pidB), 'down of one instance stopped the other');
  assert.equal(await answers(b), true);
  assert.equal((await redisStatus(b)).state, 'running');

  assert.equal((await redisDown(b)).note, 'stopped');
  assert.ok(await gone(pidB));
  assert.equal(await answers(b), false);
  assert.ok(!existsSync(redisFiles(a).pidFile) && !existsSync(redisFiles(b).pidFile));
  for (const file of Object.values(redisFiles(a))) assert.ok(!Object.values(redisFiles(b)).includes(file), `${file} shared`);
});

test('a Redis started under the legacy layout (one redis.pid) is stopped by its own port\'s down, never by another', { timeout: 60_000 }, async () => {
  const legacyPort = await freePort();
  const other = config(await freePort());
  const legacy = config(legacyPort);
  const home = join(dir, 'redis');
  const legacyPidFile = join(home, 'redis.pid');
  mkdirSync(join(home, 'data'), { recursive: true });
  // As the old `stack up` started it: same arguments, its pid in redis/redis.pid.
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(legacyPort), '--dir', join(home, 'data'), '--daemonize', 'no', '--save', '', '--appendonly', 'no'],
    { cwd: home, detached: true, stdio: 'ignore' },
  );
  child.unref();
  const pid = child.pid as number;
  started.push(pid);
  writeFileSync(legacyPidFile, `${pid}\n`);
  for (let i = 0; i < 50 && !(await answers(legacy)); i++) await sleep(100);
  assert.equal(await answers(legacy), true);

  // Another port's stack neither adopts nor stops it, and keeps the legacy file for the right one.
  assert.equal((await redisStatus(other)).state, 'stopped');
  assert.equal((await redisDown(other)).note, 'not-running');
  assert.ok(isAlive(pid));
  assert.equal(readFileSync(legacyPidFile, 'utf8').trim(), String(pid));

  assert.equal((await redisStatus(legacy)).pid, pid);
  assert.equal((await redisDown(legacy)).note, 'stopped');
  assert.ok(await gone(pid), `legacy redis ${pid} still alive after down`);
  assert.equal(await answers(legacy), false);
  assert.ok(!existsSync(legacyPidFile) && !existsSync(redisFiles(legacy).pidFile));
  assert.equal((await redisDown(legacy)).note, 'not-running');
});

test('two Kafka port settings in one stack folder share only the jars', () => {
  const a = config(16_000, 19_500);
  const b = config(16_000, 19_600);
  const fa = kafkaFiles(a);
  const fb = kafkaFiles(b);
  const perInstance = ['pidFile', 'data', 'logs', 'serverProperties', 'log4j'] as const;
  for (const k of perInstance) {
    assert.notEqual(fa[k], fb[k], k);
    assert.ok(fa[k].includes('19500'), `${k}: ${fa[k]} not named by the broker port`);
  }
  assert.equal(fa.libs, fb.libs);
  assert.notDeepEqual(kafkaProcess(a).cmdlineMarks, kafkaProcess(b).cmdlineMarks);
  assert.equal(kafkaProcess(a).pidFile, fa.pidFile);
  // A port that is a prefix of another's never matches its cmdline mark.
  assert.ok(!redisProcess(config(1647)).cmdlineMarks.some((m) => ' redis-server 127.0.0.1:16479 '.includes(m)));
});

test('listensOn tells the port a process listens on (how a legacy Kafka pid is matched to its port)', async () => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  try {
    assert.equal(listensOn(process.pid, port), true);
    assert.equal(listensOn(process.pid, await freePort()), false);
    assert.equal(listensOn(process.ppid, port), false, 'another process does not hold our socket');
  } finally {
    server.close();
  }
});

test('a Kafka of the legacy layout stays ours after its adoption: every later status finds it, and its down stops it', { timeout: 60_000 }, async () => {
  // A stand-in process whose command line carries the legacy broker's mark (its server.properties path) and that
  // listens on the broker port: what runningPid looks at (/proc), without starting a real broker.
  const port = await freePort();
  const cfg = config(16_000, port);
  const files = kafkaFiles(cfg);
  mkdirSync(files.home, { recursive: true });
  const legacyProps = join(files.home, 'server.properties');
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1'); setInterval(() => {}, 1e6)`, legacyProps, 'legacy'], { stdio: 'ignore' });
  const pid = child.pid!;
  started.push(pid);
  for (let i = 0; i < 50 && !listensOn(pid, port); i++) await sleep(100);
  assert.ok(listensOn(pid, port));
  writeFileSync(join(files.home, 'kafka.pid'), `${pid}\n`);
  const p = kafkaProcess(cfg);
  assert.equal(runningPid(p), pid, 'adopted');
  assert.equal(runningPid(p), pid, 'still ours on the next look (it carries the legacy mark, not the new one)');
  assert.equal(readFileSync(files.pidFile, 'utf8').trim(), String(pid));
  assert.equal(await stopProcess(p, 10_000), 'stopped');
  assert.ok(await gone(pid));
});
