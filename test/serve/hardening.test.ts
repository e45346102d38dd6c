import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { after, before, test } from 'node:test';
import { redisUrl } from '../../src/config/load.js';
import { priorsAt } from '../../src/popularity/index.js';
import { closeOps, listenOps as listen } from '../../src/ops/ops-server.js';
import { createHttpServer, type HttpServerOptions } from '../../src/serve/http-server.js';
import { Recommender, type Recommendations } from '../../src/serve/recommender.js';
import { StoreKeys } from '../../src/store/keys.js';
import { readPopularity } from '../../src/store/popularity.js';
import { VectorStore } from '../../src/store/vector-store.js';
import { dropPrefix, plainClient, randomVector, rng, uniquePrefix } from '../store/helpers.js';
import { ensureStack } from '../support/stack.js';

// Issue 23, item 6: the serving path under an operator's demands (auth, overload, id probing, version switches).
const prefix = uniquePrefix('serve-hard');
const DIM = 16;
const TOKEN = 'a-test-token-of-32-characters-xx';
let url: string;
let store: VectorStore;
let version: number;

before(async () => {
  url = redisUrl(await ensureStack());
  store = await VectorStore.open({ redisUrl: url, prefix });
  version = await store.beginVersion({ dim: DIM });
  const next = rng(5);
  const t = Date.now();
  await store.writeItemVectors(version, Array.from({ length: 50 }, (_, j) => ({ id: `item-${j}`, eventTime: t, vector: randomVector(DIM, next) })));
  await store.writeUserVectors(version, [{ id: 'known', eventTime: t, vector: randomVector(DIM, next) }]);
  // item-7 is the most popular (3 users), then item-3 (2), then item-1 (1); `ghost` has no vector but saw item-3.
  const seen: Array<[string, string]> = [['a', 'item-7'], ['b', 'item-7'], ['c', 'item-7'], ['a', 'item-3'], ['ghost', 'item-3'], ['b', 'item-1']];
  await store.recordInteractions(seen.map(([userId, itemId], j) => ({ userId, itemId, eventTime: t + j })));
  await store.publishVersion(version);
});
after(async () => {
  await store.close();
  await dropPrefix(url, prefix);
});

async function withServer<R>(opts: HttpServerOptions, f: (base: string, recommender: Recommender) => Promise<R>, refreshMs = 60_000): Promise<R> {
  const recommender = await Recommender.open({ redisUrl: url, prefix, refreshMs, prior: 0 });
  const server: Server = createHttpServer(recommender, opts);
  const addr = await listen(server, 0, '127.0.0.1');
  try {
    return await f(`http://127.0.0.1:${addr.port}`, recommender);
  } finally {
    await closeOps(server);
    recommender.close();
  }
}

test('with LEARN_SERVE_TOKEN, requests without the bearer token get 401 with WWW-Authenticate; probes stay open', async () => {
  await withServer({ token: TOKEN }, async (base) => {
    const path = `${base}/v1/users/known/recommendations?k=3`;
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer']) {
      const res = await fetch(path, authorization === undefined ? {} : { headers: { authorization } });
      assert.equal(res.status, 401, String(authorization));
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unauthorized');
    }
    assert.equal((await fetch(`${base}/metrics`)).status, 401, '/metrics needs the token too');
    const ok = await fetch(path, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as Recommendations).items.length, 3);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
  });
});

test('past LEARN_SERVE_MAX_IN_FLIGHT, a request gets 429 with Retry-After; the ones in flight complete', async () => {
  const admin = await plainClient(url);
  try {
    await withServer({ maxInFlight: 1, retryAfterS: 7 }, async (base) => {
      const path = `${base}/v1/users/known/recommendations?k=3`;
      assert.equal((await fetch(path)).status, 200, 'the index is loaded');
      // Redis holds every command for a while, so the first request stays in flight.
      await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
      const first = fetch(path);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const second = await fetch(path);
      assert.equal(second.status, 429);
      assert.equal(second.headers.get('retry-after'), '7');
      assert.equal(((await second.json()) as { error: { code: string } }).error.code, 'overloaded');
      assert.equal((await fetch(`${base}/healthz`)).status, 200, 'probes are not counted');
      assert.equal((await first).status, 200);
      assert.equal((await fetch(path)).status, 200, 'the slot is free again');
    });
  } finally {
    await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
    admin.disconnect();
  }
});

test('a user without a vector gets 200 with the most popular items, marked as popularity, without what they saw', async () => {
  await withServer({}, async (base) => {
    const unknown = await fetch(`${base}/v1/users/nobody-at-all/recommendations?k=3`);
    assert.equal(unknown.status, 200);
    const body = (await unknown.json()) as Recommendations;
    assert.equal(body.source, 'popularity');
    assert.equal(body.version, version);
    const counts = await readPopularity(store.redis, new StoreKeys(prefix));
    const prior = priorsAt(counts!, Math.max(...[...counts!.counts.values()].map((c) => c.at)));
    assert.deepEqual(body.items, ['item-7', 'item-3', 'item-1'].map((itemId) => ({ itemId, score: prior.get(itemId) })));
    const ghost = (await (await fetch(`${base}/v1/users/ghost/recommendations?k=2`)).json()) as Recommendations;
    assert.deepEqual(ghost.items.map((i) => i.itemId), ['item-7', 'item-1'], 'item-3, seen, is excluded');
    const known = (await (await fetch(`${base}/v1/users/known/recommendations?k=2`)).json()) as Recommendations;
    assert.equal(known.source, 'model');
  });
});

test('a version switch builds the new index off the request path: requests answer from the old one until it is ready', async () => {
  await withServer(
    {},
    async (base, recommender) => {
      assert.equal((await recommender.recommend('known', 3)).version, version);
      const next = rng(9);
      const v2 = await store.beginVersion({ dim: DIM });
      await store.writeItemVectors(v2, Array.from({ length: 3000 }, (_, j) => ({ id: `v2-item-${j}`, eventTime: Date.now(), vector: randomVector(DIM, next) })));
      await store.writeUserVectors(v2, [{ id: 'known', eventTime: Date.now(), vector: randomVector(DIM, next) }]);
      await store.publishVersion(v2);
      // The request that finds the switch starts the build and is answered at once from the old version's index.
      const during = (await (await fetch(`${base}/v1/users/known/recommendations?k=3`)).json()) as Recommendations;
      assert.equal(during.version, version);
      assert.ok(during.items.every((i) => i.itemId.startsWith('item-')));
      assert.equal(await recommender.refresh(), v2, 'refresh() waits for the build');
      const afterSwitch = (await (await fetch(`${base}/v1/users/known/recommendations?k=3`)).json()) as Recommendations;
      assert.equal(afterSwitch.version, v2);
      assert.ok(afterSwitch.items.every((i) => i.itemId.startsWith('v2-item-')));
      version = v2;
    },
    0,
  );
});
