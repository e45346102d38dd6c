import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultCodec } from '../../src/codec/index.js';
import { loadConfig } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { createKafka } from '../../src/kafka/client.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { applyTopics, loadTopicSpecs } from '../../src/kafka/topics.js';
import { eventually } from '../support/kafka.js';
import { startLearn, type RoleProcess } from '../support/process.js';
import { freePort } from './free-port.js';
import { startSaslBroker, type SaslBroker } from './sasl-broker.js';

// Real roles over a real SASL/PLAIN broker (a second, private Kafka with its own ports) and a password-protected
// redis-server: readiness and metrics of `learn encode` and `learn train`, a refused wrong password, and every
// byte the processes print grepped for the two secrets.
const KAFKA_SECRET = `kafka-sasl-secret-${randomBytes(8).toString('hex')}`;
const REDIS_SECRET = `redis-auth-secret-${randomBytes(8).toString('hex')}`;
let broker: SaslBroker;
let redis: ChildProcess;
let env: Record<string, string>;
let stateDir: string | undefined;
const printed: string[] = [];
const roles: RoleProcess[] = [];

before(async () => {
  const [bp, cp, rp] = [await freePort(), await freePort(), await freePort()];
  broker = await startSaslBroker(loadConfig(), bp, cp, KAFKA_SECRET);
  redis = spawn('redis-server', ['--port', String(rp), '--bind', '127.0.0.1', '--requirepass', REDIS_SECRET, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'learn-sasl-state-'));
  stateDir = dir;
  env = {
    KAFKA_BROKERS: broker.brokers,
    KAFKA_SASL_MECHANISM: 'plain',
    KAFKA_SASL_USERNAME: broker.username,
    KAFKA_SASL_PASSWORD: KAFKA_SECRET,
    REDIS_URL: `redis://:${REDIS_SECRET}@127.0.0.1:${rp}`,
    LEARN_STATE_DIR: dir,
    LEARN_LAG_INTERVAL_MS: '500',
    LEARN_READY_MAX_LAG: '0',
    LEARN_WINDOW_MS: '300',
    LEARN_PAL_DIM: '32',
    LEARN_PAL_LAYERS: '1',
    // As much logging as there is: a leak at debug level is still a leak.
    LOG_LEVEL: 'trace',
  };
  const admin = createKafka(loadConfig(env), 'test-admin').admin();
  await admin.connect();
  await applyTopics(admin, loadTopicSpecs());
  await admin.disconnect();
});

after(async () => {
  for (const r of roles) if (r.child.exitCode === null) r.child.kill('SIGKILL');
  await broker?.stop();
  redis?.kill('SIGTERM');
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

const get = async (port: string, path: string): Promise<{ status: number; body: string }> => {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    const body = await r.text();
    printed.push(body);
    return { status: r.status, body };
  } catch {
    return { status: 0, body: '' };
  }
};

test('SASL/PLAIN through the project client works, and a wrong password is refused clearly', async () => {
  const admin = createKafka(loadConfig(env), 'test-sasl').admin();
  await admin.connect();
  assert.ok((await admin.describeCluster()).brokers.length === 1);
  await admin.disconnect();

  const bad = createKafka(loadConfig({ ...env, KAFKA_SASL_PASSWORD: 'not-the-password' }), 'test-sasl-bad', { retry: { retries: 0 } }).admin();
  await assert.rejects(bad.connect(), (e: Error) => {
    assert.match(e.message, /SASL PLAIN authentication failed/i);
    assert.ok(!e.message.includes(KAFKA_SECRET));
    return true;
  });
});

test('learn encode and learn train over SASL with Redis AUTH: /healthz, /readyz, /metrics, clean stop', { timeout: 180_000 }, async () => {
  const encPort = String(await freePort());
  const enc = startLearn(['encode'], { ...env, LEARN_METRICS_PORT: encPort });
  roles.push(enc);
  await eventually('encoder /healthz', async () => (await get(encPort, '/healthz')).status === 200, 60_000);

  const producer = await createProducer(createKafka(loadConfig(env), 'test-producer'));
  const codec = defaultCodec();
  await producer.send({
    topic: 'learn.item-listings',
    acks: ACKS_ALL,
    messages: ['a', 'b', 'c'].map((id) => ({
      key: id,
      value: codec.encode('ItemListing', { item_id: id, title: `Item ${id}`, category: 'Books', brand: 'Acme', price: '1 EUR', keywords: [], attributes: [], listed_at: Date.now() }),
    })),
  });
  await producer.disconnect();

  await eventually('encoder ready: group stable, lag 0', async () => (await get(encPort, '/readyz')).status === 200, 90_000);
  const ready = JSON.parse((await get(encPort, '/readyz')).body) as { checks: Record<string, { ok: boolean; detail: { maxLag: number; groupState: string } }> };
  assert.equal(ready.checks['consumer:learn-encoder']?.detail.groupState, 'Stable');
  const metrics = (await get(encPort, '/metrics')).body;
  assert.match(metrics, /learn_consumer_lag\{group="learn-encoder",topic="learn\.item-listings",partition="0"\} 0/);
  assert.match(metrics, /learn_messages_processed_total\{topic="learn\.item-listings",group="learn-encoder"\} 3/);

  const trainPort = String(await freePort());
  const train = startLearn(['train'], { ...env, LEARN_METRICS_PORT: trainPort });
  roles.push(train);
  await eventually('trainer ready: consumer and Redis', async () => (await get(trainPort, '/readyz')).status === 200, 120_000);
  const tReady = JSON.parse((await get(trainPort, '/readyz')).body) as { checks: Record<string, { ok: boolean }> };
  assert.deepEqual(Object.keys(tReady.checks).sort(), ['consumer:learn-trainer', 'redis', 'vector-version']);

  for (const r of [train, enc]) {
    r.child.kill('SIGTERM');
    assert.equal(await r.exited, 0, r.logs().slice(-2000));
    printed.push(r.logs());
  }
  assert.match(enc.logs(), /serving \/metrics, \/healthz, \/readyz/);
});

test('secrets never appear in what the processes print: learn config, learn stack status, the roles, the endpoints', () => {
  for (const args of [['config'], ['stack', 'status'], ['stack', 'status', '--json']]) {
    const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin/learn.js'), ...args], { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
    printed.push(`${r.stdout}${r.stderr}`);
    if (args[0] === 'config') assert.match(r.stdout, /\[secret\]/, 'the config is shown, secrets masked');
    else assert.match(r.stdout, /kafka|redis/);
  }
  const all = printed.join('\n');
  assert.ok(all.length > 5_000, `enough output was captured to mean something (${all.length} chars)`);
  assert.ok(!all.includes(KAFKA_SECRET), 'KAFKA_SASL_PASSWORD leaked');
  assert.ok(!all.includes(REDIS_SECRET), 'the REDIS_URL password leaked');
});
