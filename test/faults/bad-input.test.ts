import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaultCodec, type ItemContent, type ItemListing, type UserEvent } from '../../src/codec/index.js';
import { MAGIC } from '../../src/codec/single-object.js';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { digestOf } from '../../src/trainer/digest.js';
import { ensureDefaultModel } from '../encoder/model-helper.js';
import { eventually } from '../support/kafka.js';
import { startLearn } from '../support/process.js';
import { ensureStack, freshPipelineTopics, freshTopic } from '../support/stack.js';
import { SMALL_TRAINER_ENV, alive, dumpLogs, event, latestCheckpoint, listing, messageCount, readAll, sendAll, sleep, stopRole } from './support.js';
import { DLQ_HEADERS } from '../../src/kafka/dead-letter.js';
import { header } from '../support/kafka.js';

// Over 10,000 malformed messages interleaved with good ones on all three input topics of `learn run`: every bad
// one must reach the DLQ with its reason (found by its unique key), every good one must be processed (count and
// digest of trained events, one ItemContent per good listing), and the process must neither crash nor stop.

let cfg: Config;
const stateDir = mkdtempSync(join(tmpdir(), 'learn-faults-bad-'));
before(async () => {
  cfg = await ensureStack();
  await ensureDefaultModel();
});
after(() => rmSync(stateDir, { recursive: true, force: true }));

type Msg = { key: string; value: Buffer };
const MAX_BYTES = 4096;
const MAX_WAITING = 50;

test('10,000+ malformed messages interleaved with good ones: each bad one dead-lettered with its reason, every good one processed, no crash', { timeout: 300_000 }, async (t) => {
  const started = Date.now();
  const codec = defaultCodec();
  const rng = new Rng(99);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => rng.int(256)));
  const env = {
    ...SMALL_TRAINER_ENV,
    ...(await freshPipelineTopics(cfg, 'bad', { listings: 2, content: 2, events: 3, dlq: 2 })),
    LEARN_STATE_DIR: stateDir,
    LEARN_REDIS_PREFIX: `faultbad${process.pid}`,
    LEARN_GROUP_PREFIX: `faultbad${process.pid}`,
    LEARN_MAX_MESSAGE_BYTES: String(MAX_BYTES),
    LEARN_MAX_WAITING_EVENTS: String(MAX_WAITING),
    LEARN_BATCH_USERS: '64',
  };
  /** key -> reasons accepted for it (a corrupted body may fail in more than one way). */
  const expected = new Map<string, string[]>();
  const bad = (cls: string, i: number, reasons: string[]): string => {
    const key = `bad-${cls}-${i}`;
    expected.set(key, reasons);
    return key;
  };
  const truncate = (b: Buffer) => b.subarray(0, 10 + rng.int(Math.max(1, b.length - 11)));
  const BODY_REASONS = ['truncated', 'malformed-body', 'trailing-bytes'];

  // Listings: good ones (some with enormous titles: cut, not refused) and bad ones.
  const goodListings: ItemListing[] = Array.from({ length: 60 }, (_, i) => listing(i));
  const words = ['alpine', 'boot', 'cotton', 'deluxe', 'ergonomic', 'foldable', 'granite', 'hybrid'];
  for (let i = 0; i < 20; i++) {
    const title = Array.from({ length: 500 }, () => words[rng.int(words.length)]).join(' ').slice(0, 3600);
    goodListings.push(listing(1000 + i, title));
  }
  const listingMsgs: Msg[] = goodListings.map((l) => ({ key: l.item_id, value: codec.encode('ItemListing', l) }));
  for (let i = 0; i < 300; i++) listingMsgs.push({ key: bad('lrandom', i, ['too-short', 'bad-magic', 'unknown-fingerprint']), value: bytes(1 + rng.int(200)) });
  for (let i = 0; i < 300; i++) listingMsgs.push({ key: bad('ltrunc', i, BODY_REASONS), value: truncate(codec.encode('ItemListing', listing(5000 + i))) });
  for (let i = 0; i < 150; i++) listingMsgs.push({ key: bad('loversize', i, ['oversize']), value: Buffer.concat([codec.encode('ItemListing', listing(6000 + i)), bytes(5000)]) });
  for (let i = 0; i < 50; i++) listingMsgs.push({ key: bad('llongid', i, ['id-too-long']), value: codec.encode('ItemListing', { ...listing(7500 + i), item_id: `long-${'x'.repeat(300)}-${i}` }) });
  for (let i = 0; i < 100; i++) listingMsgs.push({ key: bad('lempty', i, ['empty-text']), value: codec.encode('ItemListing', { ...listing(7000 + i), title: ' ', category: null, brand: null, price: null }) });

  // Content: NaN and infinite vectors for items that get events (those events then wait, then no-content).
  const dim = 384;
  const nanItems = Array.from({ length: 15 }, (_, i) => `nan-item-${i}`);
  const contentMsgs: Msg[] = nanItems.map((id, i) => {
    const v = new Float32Array(dim).fill(0.05);
    v[i * 7] = i % 3 === 0 ? Number.POSITIVE_INFINITY : Number.NaN;
    const c: ItemContent = { item_id: id, model_id: 'all-minilm-l6-v2-q@test', text_hash: '0'.repeat(64), dim, vector: Buffer.from(v.buffer), encoded_at: 1 };
    expected.set(id, ['non-finite-vector']);
    return { key: id, value: codec.encode('ItemContent', c) };
  });

  // Events: good ones over good items, interleaved with every kind of bad one.
  const goodEvents: UserEvent[] = [];
  const eventMsgs: Msg[] = [];
  const ts0 = Date.now() - 3_600_000;
  let n = 0;
  const ev = (user: string, item: string, type = 'click', ts?: number): UserEvent => event(`e-${n}`, user, item, ts ?? ts0 + n++ * 10, type);
  const goodItem = () => goodListings[rng.int(goodListings.length)]!.item_id;
  const kinds: Array<[number, (i: number) => Msg]> = [
    [2000, (i) => ({ key: bad('random', i, ['too-short', 'bad-magic', 'unknown-fingerprint']), value: bytes(1 + rng.int(300)) })],
    [1800, (i) => ({ key: bad('fingerprint', i, ['unknown-fingerprint']), value: Buffer.concat([MAGIC, bytes(8), codec.encode('UserEvent', ev('u', goodItem())).subarray(10)]) })],
    [300, (i) => ({ key: bad('wrongrecord', i, ['wrong-record']), value: codec.encode('ItemListing', listing(8000 + i)) })],
    [1500, (i) => ({ key: bad('trunc', i, BODY_REASONS), value: truncate(codec.encode('UserEvent', ev(`t${i}`, goodItem()))) })],
    [1000, (i) => ({ key: bad('oversize', i, ['oversize']), value: Buffer.concat([codec.encode('UserEvent', ev(`o${i}`, goodItem())), bytes(5000)]) })],
    [1000, (i) => ({ key: bad('type', i, ['unknown-event-type']), value: codec.encode('UserEvent', ev(`bad-type-${i}`, goodItem(), 'teleport')) })],
    [200, (i) => ({ key: bad('longid', i, ['id-too-long']), value: codec.encode('UserEvent', ev(`long-user-${'x'.repeat(300)}-${i}`, goodItem())) })],
    [500, (i) => ({ key: bad('negts', i, ['bad-timestamp']), value: codec.encode('UserEvent', ev(`bad-negts-${i}`, goodItem(), 'click', -1000 - i)) })],
    [500, (i) => ({ key: bad('futurets', i, ['bad-timestamp']), value: codec.encode('UserEvent', ev(`bad-futurets-${i}`, goodItem(), 'click', Date.now() + 30 * 86_400_000)) })],
    [1000, (i) => {
      const item = i < 200 ? nanItems[i % nanItems.length]! : `never-listed-${i}`;
      const key = bad(i < 200 ? 'nancontent' : 'unknownitem', i, ['no-content']);
      return { key, value: codec.encode('UserEvent', ev(key, item)) };
    }],
  ];
  const badEventMsgs: Msg[] = kinds.flatMap(([count, make]) => Array.from({ length: count }, (_, i) => make(i)));
  // Interleave: shuffle bad ones, then put a good event after every ~4 bad ones.
  for (let i = badEventMsgs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [badEventMsgs[i], badEventMsgs[j]] = [badEventMsgs[j]!, badEventMsgs[i]!];
  }
  for (let i = 0; i < badEventMsgs.length; i++) {
    eventMsgs.push(badEventMsgs[i]!);
    if (i % 4 === 0) {
      const e = ev(`user-${rng.int(200)}`, goodItem());
      goodEvents.push(e);
      eventMsgs.push({ key: e.user_id, value: codec.encode('UserEvent', e) });
    }
  }
  // Bad ones whose user key is the event's user (unknown type, timestamps, no content) are dead-lettered by the
  // trainer with that key; the unique `bad-...` user ids above make them findable.
  const badCount = expected.size;
  t.diagnostic(`bad messages: ${badCount}; good events ${goodEvents.length}, good listings ${goodListings.length}`);
  assert.ok(badCount >= 10_000);

  const producer = await createProducer(createKafka(cfg, 'test-producer'));
  const role = startLearn(['run'], env);
  try {
    await sendAll(producer, env.LEARN_TOPIC_ITEM_LISTINGS, listingMsgs.sort(() => rng.next() - 0.5));
    await sendAll(producer, env.LEARN_TOPIC_ITEM_CONTENT, contentMsgs);
    // Good events go out once their items are encoded, so that only the bad ones wait for content.
    await eventually('good listings encoded', async () => (await messageCount(cfg, env.LEARN_TOPIC_ITEM_CONTENT)) >= goodListings.length + contentMsgs.length, 120_000);
    await sendAll(producer, env.LEARN_TOPIC_USER_EVENTS, eventMsgs);
    await producer.disconnect();
    await eventually('every good event checkpointed', () => (latestCheckpoint(stateDir)?.eventsTrained ?? 0) >= goodEvents.length, 180_000);
    const stillWaiting = () => latestCheckpoint(stateDir)?.waiting.length ?? 0;
    await eventually('bad ones dead-lettered', async () => (await messageCount(cfg, env.LEARN_TOPIC_DLQ)) >= badCount - stillWaiting(), 120_000);
    await sleep(1000);
    assert.ok(alive(role), `learn run still running:\n${role.logs().slice(-3000)}`);
  } catch (err) {
    dumpLogs('bad', { run: role });
    await producer.disconnect();
    throw err;
  } finally {
    const code = await stopRole(role);
    assert.equal(code, 0, `clean exit on SIGTERM:\n${role.logs().slice(-3000)}`);
  }

  const final = latestCheckpoint(stateDir);
  const letters = await readAll(cfg, env.LEARN_TOPIC_DLQ);
  const byKey = new Map<string, string>();
  for (const m of letters) byKey.set(m.key?.toString() ?? '', header(m.headers, DLQ_HEADERS.reason) ?? '?');
  const byReason: Record<string, number> = {};
  for (const r of byKey.values()) byReason[r] = (byReason[r] ?? 0) + 1;
  // Events still waiting for content when the run ended: at most LEARN_MAX_WAITING_EVENTS, all of them bad.
  const waitingKeys = new Set((final?.waiting ?? []).map((w) => w.event.user_id));
  const missing: string[] = [];
  const wrong: string[] = [];
  for (const [key, reasons] of expected) {
    const got = byKey.get(key);
    if (got === undefined) {
      if (!waitingKeys.has(key)) missing.push(key);
    } else if (!reasons.includes(got)) wrong.push(`${key}: ${got}, expected ${reasons.join('|')}`);
  }
  const contents = await readAll(cfg, env.LEARN_TOPIC_ITEM_CONTENT);
  const contentIds = new Set(contents.map((m) => m.key?.toString()));
  t.diagnostic(
    JSON.stringify({
      produced: { bad: badCount, goodEvents: goodEvents.length, goodListings: goodListings.length, total: listingMsgs.length + contentMsgs.length + eventMsgs.length },
      eventsTrained: final?.eventsTrained,
      dlqMessages: letters.length,
      dlqByReason: byReason,
      stillWaitingAtEnd: waitingKeys.size,
      missing: missing.length,
      wrongReason: wrong.length,
      wallS: Math.round((Date.now() - started) / 1000),
    }),
  );
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} bad messages not dead-lettered`);
  assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} with an unexpected reason`);
  assert.ok(waitingKeys.size <= MAX_WAITING && [...waitingKeys].every((k) => expected.get(k)?.includes('no-content')), 'only bad events still wait');
  assert.equal(final?.eventsTrained, goodEvents.length, 'every good event trained once (count)');
  assert.equal(final?.digest, digestOf(goodEvents.map((e) => e.event_id)).toString(16), 'every good event trained once (digest)');
  for (const l of goodListings) assert.ok(contentIds.has(l.item_id), `${l.item_id} encoded (enormous titles are cut, not refused)`);
  for (const k of byKey.keys()) assert.ok(expected.has(k), `only bad messages dead-lettered, not ${k}`);
});
