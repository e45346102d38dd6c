import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { loadConfig, redisUrl } from '../../src/config/load.js';
import { redisCheck } from '../../src/ops/health.js';
import { connectWithin, createRedisClient, isRedisAuthError } from '../../src/store/redis-client.js';
import { freePort } from './free-port.js';

// A real AUTH round trip: a separate redis-server with --requirepass on its own loopback port, reached through
// the project's client with REDIS_URL=redis://:PASSWORD@127.0.0.1:PORT as a role would configure it.
const PASSWORD = `redis-auth-${randomBytes(6).toString('hex')}`;
let port = 0;
let server: ChildProcess;
const clients: Redis[] = [];

before(async () => {
  port = await freePort();
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', PASSWORD, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = createRedisClient(`redis://:${PASSWORD}@127.0.0.1:${port}`, 'test-probe');
  clients.push(probe);
  const deadline = Date.now() + 10_000;
  while (!(await connectWithin(probe, 500))) if (Date.now() > deadline) throw new Error('redis-server did not start');
});
after(async () => {
  for (const c of clients) c.disconnect();
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
});

/** The first connection error the client reports, if any within the time given. */
function firstError(client: Redis, ms: number): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(undefined), ms);
    client.once('error', (e: Error) => {
      clearTimeout(t);
      resolve(e);
    });
  });
}

test('REDIS_URL with the right password: the client connects, writes and reads', async () => {
  const cfg = loadConfig({ REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${port}` });
  const c = createRedisClient(redisUrl(cfg), 'test-auth');
  clients.push(c);
  assert.equal(await connectWithin(c, 5_000), true);
  await c.set('learn:auth-test', 'ok');
  assert.equal(await c.get('learn:auth-test'), 'ok');
  assert.deepEqual(await redisCheck(c)(), { ok: true });
});

test('a wrong password fails with a clear authentication error, and so does none at all', async () => {
  for (const [url, code] of [
    [`redis://:wrong-${PASSWORD}@127.0.0.1:${port}`, /^WRONGPASS/],
    [`redis://127.0.0.1:${port}`, /^NOAUTH/],
  ] as const) {
    const c = createRedisClient(url, 'test-auth-bad');
    clients.push(c);
    const err = firstError(c, 5_000);
    assert.equal(await connectWithin(c, 2_000), false, 'never ready');
    const e = await err;
    assert.ok(e, 'an error is reported');
    assert.match(e.message, code);
    assert.equal(isRedisAuthError(e), true);
    assert.ok(!e.message.includes(PASSWORD), 'the error does not echo the password');
    const check = await redisCheck(c)();
    assert.equal(typeof check === 'object' && check.ok, false, 'a role with this client is not ready');
    await assert.rejects(c.ping());
    c.disconnect();
  }
});
