import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { addLivenessCheck, addReadinessCheck } from '../../src/ops/health.js';
import { messagesProcessed } from '../../src/ops/metrics.js';
import { closeOps, createOpsServer, listenOps } from '../../src/ops/ops-server.js';

const server = createOpsServer();
let base = '';

before(async () => {
  const a = await listenOps(server, 0, '127.0.0.1');
  base = `http://127.0.0.1:${a.port}`;
});
after(() => closeOps(server));

const get = async (path: string): Promise<{ status: number; type: string; body: string }> => {
  const r = await fetch(base + path);
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
};

test('/metrics serves the process registry in Prometheus text', async () => {
  messagesProcessed.inc({ topic: 'ops-test', group: 'g' }, 3);
  const r = await get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.type, /text\/plain/);
  assert.match(r.body, /learn_messages_processed_total\{topic="ops-test",group="g"\} 3/);
  assert.match(r.body, /learn_nodejs_eventloop_lag_seconds/);
});

test('/healthz: 200 with the event-loop delay; 503 when a liveness check fails', async () => {
  let r = await get('/healthz');
  assert.equal(r.status, 200);
  assert.ok(JSON.parse(r.body).checks['event-loop'].detail.p99Ms >= 0);
  const remove = addLivenessCheck('stuck', () => false);
  r = await get('/healthz');
  assert.equal(r.status, 503);
  remove();
  assert.equal((await get('/healthz')).status, 200);
});

test('/readyz follows every registered check; a throwing or hanging check counts as not ready', async () => {
  let consumerOk = false;
  const r1 = addReadinessCheck('consumer', () => ({ ok: consumerOk, detail: { lag: consumerOk ? 0 : 99 } }));
  const r2 = addReadinessCheck('redis', async () => true);
  let r = await get('/readyz');
  assert.equal(r.status, 503);
  assert.deepEqual(JSON.parse(r.body).checks.consumer, { ok: false, detail: { lag: 99 } });
  consumerOk = true;
  r = await get('/readyz');
  assert.equal(r.status, 200, r.body);
  assert.equal(JSON.parse(r.body).status, 'ready');

  const r3 = addReadinessCheck('broken', () => {
    throw new Error('boom');
  });
  r = await get('/readyz');
  assert.equal(r.status, 503);
  assert.deepEqual(JSON.parse(r.body).checks.broken, { ok: false, detail: 'boom' });
  r3();
  const started = Date.now();
  const r4 = addReadinessCheck('hangs', () => new Promise<boolean>(() => undefined));
  r = await get('/readyz');
  assert.equal(r.status, 503);
  assert.ok(Date.now() - started < 5_000, 'a hanging check is cut off');
  r4();
  r1();
  r2();
});

test('unknown paths 404, other methods 405', async () => {
  assert.equal((await get('/nope')).status, 404);
  assert.equal((await fetch(`${base}/readyz`, { method: 'POST' })).status, 405);
});
