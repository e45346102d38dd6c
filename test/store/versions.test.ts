import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { redisUrl } from '../../src/config/load.js';
import { Recommender } from '../../src/serve/recommender.js';
import { StoreKeys } from '../../src/store/keys.js';
import { VersionView } from '../../src/store/reader.js';
import { VectorStore } from '../../src/store/vector-store.js';
import { ensureStack } from '../support/stack.js';
import { dropPrefix, filled, plainClient, uniquePrefix } from './helpers.js';

const prefix = uniquePrefix('store-versions');
const keys = new StoreKeys(prefix);
const GRACE_S = 120;
let url: string;
let store: VectorStore;
let plain: Redis;

before(async () => {
  url = redisUrl(await ensureStack());
  store = await VectorStore.open({ redisUrl: url, prefix, graceSeconds: GRACE_S });
  plain = await plainClient(url);
});
after(async () => {
  await store.close();
  plain.disconnect();
  await dropPrefix(url, prefix);
});

const DIM = 16;
const ITEMS = 300;
const USERS = 20;

/** Builds a version whose every vector component equals the version id, in several batches, then publishes it. */
async function buildAndPublish(): Promise<number> {
  const ver = await store.beginVersion({ dim: DIM, config: { layers: 2 } });
  const t = Date.now();
  for (let at = 0; at < ITEMS; at += 50) {
    const batch = Array.from({ length: 50 }, (_, j) => ({ id: `i${at + j}`, eventTime: t, vector: filled(DIM, ver) }));
    assert.equal((await store.writeItemVectors(ver, batch)).applied, 50);
    await new Promise((r) => setImmediate(r));
  }
  const users = Array.from({ length: USERS }, (_, j) => ({ id: `u${j}`, eventTime: t, vector: filled(DIM, ver) }));
  assert.equal((await store.writeUserVectors(ver, users)).applied, USERS);
  await store.publishVersion(ver);
  return ver;
}

test('readers pinned to a version never see another version while versions switch under them', async () => {
  const first = await buildAndPublish();
  let writing = true;
  const seenVersions = new Set<number>();
  let reads = 0;

  // Raw readers: resolve current once, then read users and items of that version only.
  const rawReader = async (seed: number): Promise<void> => {
    let n = seed;
    while (writing) {
      const view = await VersionView.current(store.redis, keys);
      assert.ok(view);
      seenVersions.add(view.version);
      const ids = Array.from({ length: 25 }, () => `i${(n = (n * 7 + 3) % ITEMS)}`);
      const items = await view.itemVectorBytes(ids);
      const user = await view.userVector(`u${n % USERS}`);
      for (const bytes of items) {
        assert.ok(bytes, `version ${view.version}: an item of a published version is missing`);
        for (let off = 0; off < bytes.length; off += 4) assert.equal(bytes.readFloatLE(off), view.version);
      }
      assert.ok(user);
      assert.ok(user.every((x) => x === view.version), `user vector mixes versions under ${view.version}`);
      reads++;
    }
  };
  // The serving path: every score must be dim * v * v for the version v it reports.
  const recommender = await Recommender.open({ redisUrl: url, prefix, refreshMs: 0 });
  const servingReader = async (): Promise<void> => {
    while (writing) {
      const r = await recommender.recommend('u3', 5);
      seenVersions.add(r.version);
      assert.equal(r.items.length, 5);
      for (const it of r.items) assert.equal(it.score, DIM * r.version * r.version, `recommend mixed versions under ${r.version}`);
      reads++;
    }
  };

  const readers = [rawReader(1), rawReader(2), rawReader(5), servingReader(), servingReader()];
  const published: number[] = [first];
  try {
    for (let j = 0; j < 6; j++) published.push(await buildAndPublish());
  } finally {
    writing = false;
    await Promise.all(readers);
    recommender.close();
  }
  assert.ok(reads > 50, `only ${reads} reads ran`);
  assert.ok(seenVersions.size >= 3, `readers saw versions ${[...seenVersions].join(',')}: they did not run across switches`);

  // The live version has no TTL; every replaced one expires within the grace period, vectors included.
  const live = published.at(-1) as number;
  assert.equal(await plain.get(keys.current()), String(live));
  assert.equal(await plain.hget(keys.meta(live), 'state'), 'live');
  assert.equal(await plain.pttl(keys.meta(live)), -1);
  assert.equal(await plain.pttl(keys.item(live, 'i0')), -1);
  for (const old of published.slice(0, -1)) {
    assert.equal(await plain.hget(keys.meta(old), 'state'), 'retired');
    for (const key of [keys.meta(old), keys.writeOrders(old), keys.items(old), keys.item(old, 'i0'), keys.item(old, `i${ITEMS - 1}`), keys.user(old, 'u0')]) {
      const ttl = await plain.pttl(key);
      assert.ok(ttl > 0 && ttl <= GRACE_S * 1000, `${key}: ttl ${ttl}`);
    }
  }
});

test('a write landing in a retired version inherits its TTL; publish never goes back to an older version', async () => {
  const older = await store.beginVersion({ dim: 2 });
  const newer = await store.beginVersion({ dim: 2 });
  await store.publishVersion(newer);
  // `older` was begun before `newer` and never published: the publish sweep retired it.
  assert.ok((await plain.pttl(keys.meta(older))) > 0);
  await store.writeItemVectors(older, [{ id: 'late', eventTime: 1, vector: filled(2, 1) }]);
  const ttl = await plain.pttl(keys.item(older, 'late'));
  assert.ok(ttl > 0 && ttl <= GRACE_S * 1000, `late write ttl ${ttl}`);
  await assert.rejects(store.publishVersion(older), /refusing to go back/);
  assert.equal(await store.currentVersion(), newer);
  await assert.rejects(store.publishVersion(newer + 1000), /does not exist/);
});
