import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultCodec, type ItemListing, type UserEvent } from '../../src/codec/index.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { ACKS_ALL, createProducer } from '../../src/kafka/producer.js';
import { Recommender } from '../../src/serve/recommender.js';
import { ensureDefaultModel } from '../encoder/model-helper.js';
import { eventually } from '../support/kafka.js';
import { startLearn } from '../support/process.js';
import { ensureStack, freshPipelineTopics, freshTopic } from '../support/stack.js';

let shared: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-publisher-'));
before(async () => {
  shared = await ensureStack();
  await ensureDefaultModel();
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

const families: Record<string, string[]> = {
  shoes: ['trail running shoe', 'lightweight road running sneaker', 'waterproof hiking boot', 'marathon racing shoe', 'cushioned jogging trainer'],
  coffee: ['espresso machine with milk frother', 'burr coffee grinder', 'french press coffee maker', 'pour-over coffee kettle', 'cold brew coffee jar'],
  books: ['hardcover history of ancient rome', 'paperback mystery novel', 'illustrated children picture book', 'poetry anthology', 'biography of a physicist'],
};
const listing = (id: string, title: string, category: string): ItemListing => ({ item_id: id, title, category, brand: null, price: null, keywords: null, attributes: null, listed_at: Date.now() });

test('learn run: a newly listed item is servable from Redis before any event, and `similar` finds its text neighbours; user vectors follow events', { timeout: 300_000 }, async (t) => {
  const prefix = `t${randomBytes(3).toString('hex')}`;
  const env = {
    ...(await freshPipelineTopics(shared, 'vector-publisher', { listings: 2, content: 2, events: 2, dlq: 1 })),
    LEARN_STATE_DIR: stateDir,
    LEARN_REDIS_PREFIX: prefix,
    LEARN_GROUP_PREFIX: prefix,
    LEARN_BATCH_USERS: '4',
    LEARN_WINDOW_MS: '300',
    LEARN_PAL_DIM: '64',
    LEARN_PAL_LAYERS: '1',
  };
  const cfg = loadConfig({ ...process.env, ...env });
  const codec = defaultCodec();
  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  const catalogue = Object.entries(families).flatMap(([fam, titles]) => titles.map((t, i) => listing(`${fam}-${i}`, t, fam)));
  await producer.send({ topic: env.LEARN_TOPIC_ITEM_LISTINGS, acks: ACKS_ALL, messages: catalogue.map((l) => ({ key: l.item_id, value: codec.encode('ItemListing', l) })) });

  const role = startLearn(['run'], env);
  const rec = await Recommender.open({ redisUrl: `redis://127.0.0.1:${cfg.redisPort}`, prefix, refreshMs: 0 });
  try {
    // Every item of the catalogue, not just one: listings and content come over two partitions, so a neighbour still
    // on its way would be missing from the new item's answer.
    const servable = async (id: string): Promise<boolean> => (await rec.similar(id, 3).catch(() => undefined)) !== undefined;
    let missing: string[] = [];
    await eventually('the catalogue in Redis', async () => {
      const ok = await Promise.all(catalogue.map((l) => servable(l.item_id)));
      missing = catalogue.filter((_, i) => !ok[i]).map((l) => l.item_id);
      return missing.length === 0;
    }, 120_000).catch((err: Error) => {
      throw new Error(`${err.message}: not servable ${missing.join(', ')}; the role's last logs:\n${role.logs().slice(-6000)}`);
    });

    // Cold start: a new listing, no event ever seen for it.
    const fresh = listing('shoes-new', 'carbon plate running shoe for racing', 'shoes');
    const sentAt = Date.now();
    await producer.send({ topic: env.LEARN_TOPIC_ITEM_LISTINGS, acks: ACKS_ALL, messages: [{ key: fresh.item_id, value: codec.encode('ItemListing', fresh) }] });
    let answer: Awaited<ReturnType<Recommender['similar']>> | undefined;
    await eventually('the new item servable', async () => {
      answer = await rec.similar('shoes-new', 4).catch(() => undefined);
      return answer !== undefined;
    }, 60_000);
    const coldStartMs = Date.now() - sentAt;
    const neighbours = answer!.items.map((s) => s.itemId);
    const shoes = neighbours.filter((id) => id.startsWith('shoes-')).length;
    assert.ok(shoes >= 3, `at least 3 of the 4 nearest items of a running shoe are shoes: ${neighbours.join(', ')}`);

    // Events: the users' vectors appear, and recommendations exclude what they interacted with.
    const events: UserEvent[] = [];
    for (let u = 0; u < 8; u++) {
      for (let j = 0; j < 3; j++) events.push({ event_id: `e-${u}-${j}`, user_id: `user-${u}`, item_id: `${Object.keys(families)[u % 3]}-${j}`, type: 'click', ts: Date.now() + j, weight: null });
    }
    await producer.send({ topic: env.LEARN_TOPIC_USER_EVENTS, acks: ACKS_ALL, messages: events.map((e) => ({ key: e.user_id, value: codec.encode('UserEvent', e) })) });
    let recs: Awaited<ReturnType<Recommender['recommend']>> | undefined;
    await eventually('a user vector', async () => {
      // An unknown user gets the popularity answer: wait for the model's.
      recs = await rec.recommend('user-0', 5).catch(() => undefined);
      return recs?.source === 'model';
    }, 120_000);
    const seen = new Set(events.filter((e) => e.user_id === 'user-0').map((e) => e.item_id));
    assert.equal(recs!.items.length, 5);
    assert.ok(recs!.items.every((s) => !seen.has(s.itemId)), 'seen items excluded');
    t.diagnostic(`cold start: listing produced -> similar() answers in ${coldStartMs} ms; neighbours ${neighbours.join(', ')}`);
  } finally {
    rec.close();
    await producer.disconnect();
    role.child.kill('SIGTERM');
    assert.equal(await role.exited, 0, role.logs().slice(-3000));
  }
});
