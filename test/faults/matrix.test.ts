import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs, { type Producer } from 'kafkajs';
import { defaultCodec, type UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { createKafka } from '../../src/kafka/client.js';
import { createProducer } from '../../src/kafka/producer.js';
import { Rng } from '../../src/model/index.js';
import { StoreKeys } from '../../src/store/index.js';
import { CheckpointStore } from '../../src/trainer/checkpoint.js';
import { trainerGroup, type TrainerCheckpointState } from '../../src/trainer/trainer.js';
import { randomContents } from '../support/pipeline.js';
import { PrivateRedis } from '../support/private-redis.js';
import { startLearn, type RoleProcess } from '../support/process.js';
import { ensureStack, freshPipelineTopics, withAdmin } from '../support/stack.js';
import { plainClient } from '../store/helpers.js';
import { distinctPairEvents, EventLedger, matrixTable, type MatrixRow } from './ledger.js';
import { SMALL_TRAINER_ENV, Supervised, alive, dumpLogs, event, latestCheckpoint, messageCount, readAll, sendAll, sleep, stopRole, summariseDlq } from './support.js';

// The fault matrix (issue 11, "What must show"): real `learn train` processes on the real embedded Kafka and Redis,
// one fault per row. Every row counts produced / trained / dead-lettered / lost / trained twice per event (ledger.ts)
// and must end with nothing lost, nothing trained twice, every event where it belongs and every dead letter with
// its reason. The table is printed at the end (docs/operations.md "Fault matrix" holds one run's).

const SEED = Number(process.env.LEARN_FAULT_SEED ?? 20251126);
const DIM = 32;
const rows: MatrixRow[] = [];
const dirs: string[] = [];
let cfg: Config;
let producer: Producer;
const codec = defaultCodec();
const { ConfigResourceTypes } = kafkajs;

before(async () => {
  cfg = await ensureStack();
  producer = await createProducer(createKafka(cfg, 'test-producer'));
});
after(async () => {
  await producer.disconnect();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  // The matrix, for docs/operations.md (`npm test -- faults/matrix`).
  console.log(`\nFault matrix (seed ${SEED}):\n${matrixTable(rows)}\n`);
});

type Msg = { key: string; value: Buffer };

/** One row's pipeline on the shared stack: fresh topics, state folder, consumer groups and Redis prefix. */
async function rowPipeline(label: string, o: { events?: number; env?: Record<string, string> } = {}) {
  const stateDir = mkdtempSync(join(tmpdir(), `learn-matrix-${label}-`));
  dirs.push(stateDir);
  const topics = await freshPipelineTopics(cfg, `matrix-${label}`, { events: o.events ?? 3, content: 1, dlq: 1 });
  const name = `mx${label}${process.pid}`;
  const env: Record<string, string> = {
    ...SMALL_TRAINER_ENV,
    ...topics,
    LEARN_STATE_DIR: stateDir,
    LEARN_REDIS_PREFIX: name,
    LEARN_GROUP_PREFIX: name,
    ...o.env,
  };
  const items = (n: number, from = 0) => randomContents(`${label}-it`, from + n, DIM, new Rng(SEED)).slice(from);
  return {
    env,
    stateDir,
    topics,
    itemId: (i: number) => `${label}-it-${i}`,
    /** Publishes content vectors for items `from` .. `from + n - 1`. */
    publishItems: (n: number, from = 0) =>
      sendAll(producer, topics.LEARN_TOPIC_ITEM_CONTENT, items(n, from).map((c) => ({ key: c.item_id, value: codec.encode('ItemContent', c) }))),
    send: (msgs: Msg[]) => sendAll(producer, topics.LEARN_TOPIC_USER_EVENTS, msgs),
  };
}

/**
 * A row's pipeline and its good events: `users` x `perUser` on `items` items, content published now for the first
 * `withContent` of them (default all); the row's other messages go into the same ledger.
 */
async function eventRow(label: string, seedOffset: number, o: { users: number; perUser: number; items: number; withContent?: number; events?: number; env?: Record<string, string> }) {
  const started = Date.now();
  const rng = new Rng(SEED + seedOffset);
  const p = await rowPipeline(label, o);
  const ledger = new EventLedger();
  await p.publishItems(o.withContent ?? o.items);
  const good = distinctPairEvents(ledger, { prefix: label, users: o.users, perUser: o.perUser, items: o.items, ts0: Date.now() - 3_600_000, rng, itemId: p.itemId });
  return { started, rng, p, ledger, good };
}

const encoded = (events: UserEvent[]): Msg[] => events.map((e) => ({ key: e.user_id, value: codec.encode('UserEvent', e) }));

/** Shuffles `extra` into `msgs` at seeded positions (bad messages interleaved with good ones). */
function interleave(msgs: Msg[], extra: Msg[], rng: Rng): Msg[] {
  const out = [...msgs];
  for (const m of extra) out.splice(rng.int(out.length + 1), 0, m);
  return out;
}

/** Bytes that cannot be decoded (first byte 0: never the single-object magic). */
const garbage = (rng: Rng, n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i === 0 ? 0 : rng.int(256))));

/**
 * A row's bad messages, in the ledger with the reasons they must be dead-lettered with: `types` events of an unknown
 * type (`<label>-u<n>` users, items of the row), then `raws` undecodable ones.
 */
function badMessages(o: { tag: string; label: string; types: number; raws: number; users: number; items: number }, ledger: EventLedger, rng: Rng, itemId: (i: number) => string): Msg[] {
  const bad: Msg[] = [];
  for (let i = 0; i < o.types; i++) {
    const e = event(ledger.bad(`${o.tag}-type-${i}`, ['unknown-event-type']), `${o.label}-u${rng.int(o.users)}`, itemId(rng.int(o.items)), Date.now() - 60_000, 'teleport');
    bad.push({ key: e.user_id, value: codec.encode('UserEvent', e) });
  }
  for (let i = 0; i < o.raws; i++) bad.push({ key: ledger.bad(`${o.tag}-raw-${i}`, ['bad-magic', 'too-short']), value: garbage(rng, 1 + rng.int(120)) });
  return bad;
}

/** Waits until every produced event is trained (in the newest checkpoint) or dead-lettered, and none waits. */
async function settle(p: { stateDir: string; topics: { LEARN_TOPIC_DLQ: string } }, ledger: EventLedger, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = latestCheckpoint(p.stateDir);
    if (c && c.waiting.length === 0) {
      const letters = await messageCount(cfg, p.topics.LEARN_TOPIC_DLQ);
      if (c.eventsTrained + letters >= ledger.produced && c.eventsTrained + summariseDlq(await readAll(cfg, p.topics.LEARN_TOPIC_DLQ)).distinct >= ledger.produced) return;
    }
    if (Date.now() > deadline) throw new Error(`not settled: ${c?.eventsTrained ?? 0} trained, ${c?.waiting.length ?? 0} waiting of ${ledger.produced} produced`);
    await sleep(500);
  }
}

/** Waits until the newest checkpoint holds at least `n` trained events. */
async function trainedAtLeast(stateDir: string, n: number, timeoutMs = 90_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = latestCheckpoint(stateDir)?.eventsTrained ?? 0;
    if (got >= n) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} trained events (${got})`);
    await sleep(250);
  }
}

/** Accounts the row from the final checkpoint and the DLQ, prints and records it, and asserts what every row must show. */
async function finish(label: string, started: number, p: { stateDir: string; topics: { LEARN_TOPIC_DLQ: string; LEARN_TOPIC_USER_EVENTS: string } }, ledger: EventLedger, note: string, t: { diagnostic: (s: string) => void }): Promise<MatrixRow> {
  const letters = await readAll(cfg, p.topics.LEARN_TOPIC_DLQ);
  const row = ledger.account(label, latestCheckpoint(p.stateDir), letters, p.topics.LEARN_TOPIC_USER_EVENTS, { note, wallS: Math.round((Date.now() - started) / 1000) });
  rows.push(row);
  t.diagnostic(JSON.stringify({ ...row, misrouted: row.misrouted.length, misroutedFirst: row.misrouted.slice(0, 5) }));
  assert.equal(row.lost, 0, 'none lost');
  assert.equal(row.trainedTwice, 0, 'none trained twice');
  assert.equal(row.waiting, 0, 'nothing left waiting');
  assert.deepEqual(row.misrouted.slice(0, 10), [], `${row.misrouted.length} events not where they belong`);
  assert.equal(row.withoutReason, 0, 'every dead letter carries its reason');
  assert.equal(row.trained + row.deadLettered, row.produced);
  return row;
}

/** Runs `body` with the roles it starts; on failure their logs go to $LEARN_FAULT_LOG_DIR and every one is killed. */
async function withRoles(label: string, body: (roles: Record<string, RoleProcess>) => Promise<void>): Promise<void> {
  const roles: Record<string, RoleProcess> = {};
  try {
    await body(roles);
  } catch (err) {
    dumpLogs(`matrix-${label}`, roles);
    const tails = Object.entries(roles).map(([n, r]) => `--- ${n}:\n${r.logs().slice(-2500)}`).join('\n');
    for (const r of Object.values(roles)) if (alive(r)) r.child.kill('SIGKILL');
    throw new Error(`${String(err)}\n${tails}`);
  }
}

const KILL_POINTS = ['checkpoint-write', 'dlq-write', 'waiting-release'] as const;
type KillKind = (typeof KILL_POINTS)[number] | 'timed';

test('matrix: 22 seeded SIGKILLs of one trainer (inside checkpoint writes, DLQ writes, waiting-event releases, and at random times) over one stream', { timeout: 420_000 }, async (t) => {
  const items = 120;
  // Items 100-119 get content only later, in two groups: their events wait, across kills, until then.
  const { started, rng, p, ledger, good } = await eventRow('kills', 0, { users: 80, perUser: 15, items, withContent: 100 });
  const bad = badMessages({ tag: 'kl', label: 'kills', types: 100, raws: 40, users: 80, items }, ledger, rng, p.itemId);
  const stream = interleave(encoded(good), bad, rng);

  const LIVES = 22;
  const contentAt = new Map([[8, [100, 10]], [15, [110, 10]]]);
  const kinds: KillKind[] = [...Array(6).fill('checkpoint-write'), ...Array(5).fill('dlq-write'), ...Array(7).fill('timed')];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  // The lives just after each content group arrives release the events waiting for it.
  for (const at of [8, 9, 15, 16]) kinds.splice(at, 0, 'waiting-release');
  assert.equal(kinds.length, LIVES);

  const kills: Array<{ life: number; kind: KillKind; n: number; fired: boolean; trained: number; waiting: number }> = [];
  const slice = Math.ceil(stream.length / (LIVES + 1));
  await withRoles('kills', async (roles) => {
    for (let life = 0; life < LIVES; life++) {
      await p.send(stream.slice(life * slice, (life + 1) * slice));
      const group = contentAt.get(life);
      if (group) await p.publishItems(group[1]!, group[0]!);
      const kind = kinds[life]!;
      const n = kind === 'waiting-release' ? 1 + rng.int(8) : 1 + rng.int(2);
      const env = {
        ...p.env,
        // A fresh group per life: a SIGKILLed member holds its partitions for the 6-s session timeout, which 22 lives
        // would spend waiting. Where the trainer resumes is the checkpoint's offsets, not the group's (issue 11 §2.7).
        LEARN_GROUP_PREFIX: `${p.env.LEARN_GROUP_PREFIX}-l${life}`,
        ...(kind === 'timed' ? {} : { LEARN_FAULT_KILL_AT: `${kind}:${n}` }),
      };
      const role = (roles[`life${life}`] = startLearn(['train'], env));
      if (kind === 'timed') {
        await sleep(500 + rng.int(3500));
      } else {
        // The hook fires at its point; a life that never reaches it is killed by the test after 15 s.
        await Promise.race([role.exited, sleep(15_000)]);
      }
      if (alive(role)) role.child.kill('SIGKILL');
      await role.exited;
      assert.equal(role.child.signalCode, 'SIGKILL', `life ${life} died of SIGKILL, not by itself:\n${role.logs().slice(-2000)}`);
      const c = latestCheckpoint(p.stateDir);
      kills.push({ life, kind, n, fired: role.logs().includes(`fault injection: SIGKILL at ${kind} #${n}`), trained: c?.eventsTrained ?? 0, waiting: c?.waiting.length ?? 0 });
    }
    await p.send(stream.slice(LIVES * slice));
    const last = (roles.last = startLearn(['train'], { ...p.env, LEARN_GROUP_PREFIX: `${p.env.LEARN_GROUP_PREFIX}-last` }));
    await settle(p, ledger, 180_000);
    assert.equal(await stopRole(last), 0, 'clean exit on SIGTERM');
  });

  const fired = (k: KillKind) => kills.filter((x) => x.kind === k && x.fired).length;
  const withWaiting = kills.filter((k) => k.waiting > 0);
  t.diagnostic(JSON.stringify({ seed: SEED, kills }));
  const note = `${kills.length} SIGKILLs: ${fired('checkpoint-write')} mid checkpoint write, ${fired('dlq-write')} after a DLQ send, ${fired('waiting-release')} mid release from waiting, ${kills.length - fired('checkpoint-write') - fired('dlq-write') - fired('waiting-release')} at random times; events waiting for content at ${withWaiting.length} of them (up to ${Math.max(0, ...withWaiting.map((k) => k.waiting))})`;
  assert.ok(kills.length >= 20);
  assert.ok(fired('checkpoint-write') >= 3 && fired('dlq-write') >= 3 && fired('waiting-release') >= 1, note);
  assert.ok(withWaiting.length >= 5, note);
  assert.ok(kills.filter((k) => k.trained < good.length).length === kills.length, 'every kill came mid-stream');
  await finish('22+ seeded SIGKILLs of `learn train`', started, p, ledger, note, t);
});

test('matrix: the DLQ refuses every write for 12 s (max.message.bytes of learn.dlq set to 64, then restored)', { timeout: 240_000 }, async (t) => {
  const { started, rng, p, ledger, good } = await eventRow('dlqdown', 1, { users: 30, perUser: 10, items: 40 });
  const bad = badMessages({ tag: 'dd', label: 'dlqdown', types: 60, raws: 30, users: 30, items: 40 }, ledger, rng, p.itemId);
  const stream = interleave(encoded(good), bad, rng);
  const half = Math.floor(stream.length / 2);
  const setDlqMaxBytes = (value: string) =>
    withAdmin(cfg, (admin) => admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: p.topics.LEARN_TOPIC_DLQ, configEntries: [{ name: 'max.message.bytes', value }] }] }));

  const role = new Supervised(['train'], p.env);
  let restartsWhileRefused = 0;
  let trainedWhileRefused = 0;
  try {
    await p.send(stream.slice(0, half));
    await trainedAtLeast(p.stateDir, 100);
    await setDlqMaxBytes('64');
    const before = latestCheckpoint(p.stateDir)?.eventsTrained ?? 0;
    await p.send(stream.slice(half));
    await sleep(12_000);
    restartsWhileRefused = role.restarts;
    trainedWhileRefused = (latestCheckpoint(p.stateDir)?.eventsTrained ?? 0) - before;
    await setDlqMaxBytes('1048588');
    await settle(p, ledger, 150_000);
  } catch (err) {
    await setDlqMaxBytes('1048588').catch(() => undefined);
    await role.kill();
    writeFileSync(join(process.env.LEARN_FAULT_LOG_DIR ?? tmpdir(), `learn-faults-matrix-dlqdown-${process.pid}.log`), role.allLogs());
    throw new Error(`${String(err)}\n${role.allLogs().slice(-4000)}`);
  }
  assert.equal(await role.stop(), 0, 'clean exit on SIGTERM');
  await finish('DLQ refusing writes for 12 s', started, p, ledger, `trainer restarted ${restartsWhileRefused} times while refused (${role.restarts} in all); ${trainedWhileRefused} events checkpointed meanwhile`, t);
});

test('matrix: a corrupted newest checkpoint (cut in half on disk after a SIGKILL)', { timeout: 240_000 }, async (t) => {
  const { started, p, ledger, good } = await eventRow('corrupt', 2, { users: 40, perUser: 10, items: 50 });
  const stream = encoded(good);
  let note = '';
  await withRoles('corrupt', async (roles) => {
    roles.first = startLearn(['train'], p.env);
    await p.send(stream.slice(0, 200));
    await trainedAtLeast(p.stateDir, 200);
    await p.send(stream.slice(200, 300));
    const newest = await trainedAtLeast(p.stateDir, 300);
    roles.first.child.kill('SIGKILL');
    await roles.first.exited;
    const store = new CheckpointStore<TrainerCheckpointState>(join(p.stateDir, 'checkpoints'), 3);
    const file = join(store.dir, `ckpt-${String(store.latestSeq()).padStart(12, '0')}.bin`);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const fallback = latestCheckpoint(p.stateDir)?.eventsTrained ?? 0;
    assert.ok(fallback < newest, `the one before holds fewer events (${fallback} < ${newest})`);
    note = `newest checkpoint (${newest} events) cut in half; resumed from the one before (${fallback} events)`;
    roles.second = startLearn(['train'], p.env);
    await p.send(stream.slice(300));
    await settle(p, ledger);
    assert.equal(await stopRole(roles.second), 0, 'clean exit on SIGTERM');
  });
  await finish('corrupted newest checkpoint', started, p, ledger, note, t);
});

test('matrix: a training step and a checkpoint write that never return: the watchdog fails the role loudly, naming each, and restarts resume', { timeout: 240_000 }, async (t) => {
  const { started, p, ledger, good } = await eventRow('stall', 9, { users: 40, perUser: 10, items: 50 });
  const stream = encoded(good);
  const stalls: string[] = [];
  await withRoles('stall', async (roles) => {
    // Each life blocks one thread for good at the given point, as a stuck native call would; LEARN_STALL_TIMEOUT_MS
    // (short here, yet well past any step or checkpoint of this small model on a loaded machine) must end it with exit
    // code 1 and the stuck operation named, not leave it silent.
    const stallingLife = async (name: string, hang: string, label: string, sendFrom: number, sendTo: number) => {
      const lifeStarted = Date.now();
      const r = startLearn(['train'], { ...p.env, LEARN_FAULT_HANG_AT: hang, LEARN_STALL_TIMEOUT_MS: '15000' });
      roles[name] = r;
      await p.send(stream.slice(sendFrom, sendTo));
      const code = await Promise.race([r.exited, sleep(150_000).then(() => 'still running')]);
      assert.equal(code, 1, `${hang}: the role exits 1 (got ${String(code)})`);
      assert.match(r.logs(), new RegExp(`fault injection: hanging at ${hang.split(':')[0]}`));
      const fatal = r.logs().split('\n').find((line) => line.includes('has not settled in'));
      assert.ok(fatal?.includes(`"message":"trainer: ${label} has not settled in `) && fatal.includes('(LEARN_STALL_TIMEOUT_MS=15000)'), `${hang}: the stall is logged, naming ${label}:\n${r.logs().slice(-3000)}`);
      stalls.push(`${hang}: ${label} named, exit 1 ${Math.round((Date.now() - lifeStarted) / 1000)} s after start`);
    };
    await stallingLife('stepStall', 'train-step:2', 'training step', 0, 150);
    await stallingLife('writeStall', 'checkpoint-write:1', 'checkpoint: file write', 150, 250);
    roles.last = startLearn(['train'], p.env);
    await p.send(stream.slice(250));
    await settle(p, ledger);
    assert.equal(await stopRole(roles.last), 0, 'clean exit on SIGTERM');
  });
  await finish('stuck step, stuck checkpoint write', started, p, ledger, stalls.join('; '), t);
});

test('matrix: Redis down while version builds are due, with a SIGKILL and a restart during the outage', { timeout: 240_000 }, async (t) => {
  const redis = await PrivateRedis.create();
  await redis.start();
  const env = { REDIS_URL: redis.url, LEARN_VERSION_EVERY_STEPS: '2', LEARN_PUBLISH_FLUSH_MS: '500' };
  const { started, p, ledger, good } = await eventRow('redis', 3, { users: 36, perUser: 10, items: 45, env });
  const stream = encoded(good);
  const current = async (): Promise<number> => {
    const c = await plainClient(redis.url);
    try {
      return Number(await c.get(new StoreKeys(p.env.LEARN_REDIS_PREFIX!).current()));
    } finally {
      c.disconnect();
    }
  };
  let note = '';
  try {
    await withRoles('redis', async (roles) => {
      roles.first = startLearn(['train'], p.env);
      await p.send(stream.slice(0, 120));
      await trainedAtLeast(p.stateDir, 120);
      const v1 = await current();
      await redis.stop();
      await p.send(stream.slice(120, 240));
      await sleep(6_000);
      assert.ok(alive(roles.first), 'the trainer rides out builds due while Redis is down');
      roles.first.child.kill('SIGKILL');
      await roles.first.exited;
      roles.second = startLearn(['train'], p.env);
      await sleep(8_000);
      assert.ok(alive(roles.second), 'a trainer started while Redis is down waits (no crash loop)');
      await redis.start();
      await p.send(stream.slice(240));
      await settle(p, ledger);
      const v2 = await current();
      assert.ok(v2 > v1, `a version built after the outage (${v1} -> ${v2})`);
      note = `Redis stopped for ~16 s with a build due every 2 steps; the trainer SIGKILLed and restarted meanwhile; current version ${v1} -> ${v2}`;
      assert.equal(await stopRole(roles.second), 0, 'clean exit on SIGTERM');
    });
  } finally {
    await redis.dispose();
  }
  await finish('Redis down while a version build is due', started, p, ledger, note, t);
});

test('matrix: dead letters of one chunk far bigger than max.message.bytes (500 letters of 2 KB from one partition)', { timeout: 180_000 }, async (t) => {
  const { started, rng, p, ledger, good: events } = await eventRow('dlqbig', 4, { users: 20, perUser: 10, items: 30, events: 1 });
  const good = encoded(events);
  const bad: Msg[] = Array.from({ length: 600 }, (_, i) => ({ key: ledger.bad(`db-raw-${i}`, ['bad-magic']), value: garbage(rng, 2_000) }));
  // Bad ones in a block, so one 500-record chunk holds about 1.1 MB of dead letters (the broker takes 1,048,588 bytes).
  const stream = [...good.slice(0, 100), ...bad, ...good.slice(100)];
  await withRoles('dlqbig', async (roles) => {
    roles.train = startLearn(['train'], p.env);
    await p.send(stream);
    await settle(p, ledger);
    assert.equal(await stopRole(roles.train), 0, 'clean exit on SIGTERM');
  });
  const letters = await readAll(cfg, p.topics.LEARN_TOPIC_DLQ);
  assert.ok(letters.every((m) => m.value?.length === 2_000 || !m.key?.toString().startsWith('db-raw')), 'letters carry their whole value');
  await finish('DLQ batch > max.message.bytes', started, p, ledger, `600 letters of 2 KB (${(letters.reduce((n, m) => n + (m.value?.length ?? 0), 0) / 1e6).toFixed(1)} MB) in one partition`, t);
});

test('matrix: two trainers started at once on one state directory and group', { timeout: 180_000 }, async (t) => {
  const { started, p, ledger, good } = await eventRow('two', 5, { users: 30, perUser: 10, items: 40 });
  const stream = encoded(good);
  let note = '';
  await withRoles('two', async (roles) => {
    roles.a = startLearn(['train'], p.env);
    roles.b = startLearn(['train'], p.env);
    await p.send(stream.slice(0, 150));
    const loserCode = await Promise.race([roles.a.exited, roles.b.exited, sleep(60_000).then(() => 'both running')]);
    const [winner, loser] = alive(roles.a) ? [roles.a, roles.b] : [roles.b, roles.a];
    assert.ok(loserCode !== 0 && loserCode !== 'both running', `one of them refused to start (${String(loserCode)})`);
    assert.match(loser.logs(), /One trainer per (pipeline|LEARN_STATE_DIR)/);
    await p.send(stream.slice(150));
    await settle(p, ledger);
    assert.ok(alive(winner), 'the other trains on');
    note = `the second exited with code ${String(loserCode)} at start (pipeline leased by pid ${winner.child.pid}); the first trained everything`;
    assert.equal(await stopRole(winner), 0, 'clean exit on SIGTERM');
  });
  await finish('two trainers at once', started, p, ledger, note, t);
});

// Issue 11 §2.8: waiting is bounded by wall-clock time waited, never by event time, so neither a record stamped ahead
// (within LEARN_MAX_FUTURE_MS) nor late ones can expire the events waiting for content: only the events beyond the
// bound go to the DLQ (bad-timestamp); everything else is trained once.
test('matrix: future-stamped and late events, some waiting for content', { timeout: 180_000 }, async (t) => {
  const DAY = 86_400_000;
  // Items 30-39 get content only after every event is in: events on them wait.
  const { started, rng, p, ledger, good: normal } = await eventRow('time', 6, { users: 10, perUser: 8, items: 40, withContent: 30, env: { LEARN_MAX_FUTURE_MS: String(3 * DAY) } });
  const now = Date.now();
  const opts = { users: 10, perUser: 8, items: 40, rng, itemId: p.itemId };
  const future = distinctPairEvents(ledger, { ...opts, prefix: 'tf', users: 3, perUser: 4, ts0: now + 2 * DAY });
  const late = distinctPairEvents(ledger, { ...opts, prefix: 'tl', ts0: now - 3 * DAY });
  const beyond = Array.from({ length: 10 }, (_, i) => event(ledger.bad(`tb-${i}`, ['bad-timestamp']), `tb-u${i}`, p.itemId(i), now + 5 * DAY));
  const more = distinctPairEvents(ledger, { ...opts, prefix: 'tm', ts0: now });
  await withRoles('time', async (roles) => {
    roles.train = startLearn(['train'], p.env);
    for (const part of [normal, future, late, beyond, more]) await p.send(encoded(part));
    await sleep(3_000);
    await p.publishItems(10, 30);
    await settle(p, ledger);
    assert.equal(await stopRole(roles.train), 0, 'clean exit on SIGTERM');
  });
  await finish('future-stamped and late events', started, p, ledger, `${future.length} stamped 2 days ahead (bound 3 days), ${beyond.length} 5 days ahead, ${late.length} 3 days late; items of ${[...normal, ...future, ...late, ...more].filter((e) => Number(e.item_id.split('-').at(-1)) >= 30).length} events listed last`, t);
});

// Issue 23 §1-§2: kills that keep the consumer group (the kills row above gives each life a group of its own), so the
// group's committed offsets, its rebalances and the pipeline lease carry over from one life to the next.
type GroupKill = 'timed' | 'fallback-rebalance' | 'rebalance' | 'lease-handover';

test('matrix: 10 SIGKILLs in one consumer group: a rebalance after a checkpoint fallback, kills during rebalances and during lease hand-overs', { timeout: 420_000 }, async (t) => {
  const { started, rng, p, ledger, good } = await eventRow('group', 7, { users: 60, perUser: 12, items: 80 });
  const bad = badMessages({ tag: 'gr', label: 'group', types: 40, raws: 20, users: 60, items: 80 }, ledger, rng, p.itemId);
  const stream = interleave(encoded(good), bad, rng);
  const kinds: GroupKill[] = ['timed', 'timed', 'fallback-rebalance', 'rebalance', 'lease-handover', 'lease-handover', 'rebalance', 'fallback-rebalance', 'lease-handover', 'rebalance'];
  const group = trainerGroup({ groupPrefix: p.env.LEARN_GROUP_PREFIX! });
  const kafka = createKafka(cfg, 'test-member');
  const checkpoints = () => new CheckpointStore<TrainerCheckpointState>(join(p.stateDir, 'checkpoints'), 3);
  const logged = async (role: RoleProcess, text: string, timeoutMs: number): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && alive(role)) {
      if (role.logs().includes(text)) return true;
      await sleep(20);
    }
    return false;
  };
  /**
   * A second member of the trainer's group: joining and leaving rebalances the group; it reads and commits nothing.
   * `joined` resolves when the rebalance its join started is over (kafkajs's run waits for the join and sync).
   */
  const joinMember = async () => {
    const member = kafka.consumer({ groupId: group, sessionTimeout: 6_000, heartbeatInterval: 600 });
    await member.connect();
    await member.subscribe({ topic: p.topics.LEARN_TOPIC_USER_EVENTS, fromBeginning: true });
    const joined = member.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async ({ pause }) => void pause() });
    return { joined: () => Promise.race([joined, sleep(30_000)]), leave: () => Promise.race([member.disconnect(), sleep(20_000)]) };
  };
  const kills: Array<{ life: number; kind: GroupKill; fired: boolean; trained: number; fellBackFrom?: number }> = [];
  const slice = Math.ceil(stream.length / (kinds.length + 1));
  await withRoles('group', async (roles) => {
    for (let life = 0; life < kinds.length; life++) {
      const kind = kinds[life]!;
      await p.send(stream.slice(life * slice, (life + 1) * slice));
      let fellBackFrom: number | undefined;
      if (kind === 'fallback-rebalance') {
        // The newest checkpoint (its offsets committed) cut in half: the next life loads the one before, behind the group.
        fellBackFrom = latestCheckpoint(p.stateDir)?.eventsTrained ?? 0;
        const store = checkpoints();
        const file = join(store.dir, `ckpt-${String(store.latestSeq()).padStart(12, '0')}.bin`);
        truncateSync(file, Math.floor(statSync(file).size / 2));
      }
      const role = (roles[`life${life}`] = startLearn(['train'], p.env));
      let fired = false;
      if (kind === 'lease-handover') {
        // Killed as soon as it has taken over the dead life's lease: before it restored its state or joined the group.
        fired = await logged(role, 'pipeline lease taken', 60_000);
      } else if (kind === 'timed') {
        fired = await logged(role, 'assigned: reading from the position', 60_000);
        await sleep(1_000 + rng.int(3_000));
      } else {
        // Wait until it reads (after a fallback: from the older checkpoint's offsets), then rebalance under it.
        fired = await logged(role, 'assigned: reading from the position', 60_000);
        await sleep(rng.int(1_500));
        const member = await joinMember();
        if (kind === 'fallback-rebalance') {
          // Join, leave, and a kill once it holds everything again, before or after its next commit.
          await member.joined();
          await sleep(1_000);
          await member.leave();
          await sleep(2_000 + rng.int(2_000));
        } else {
          // Killed while the group rebalances: the member's join is under way.
          await sleep(200 + rng.int(600));
        }
        if (alive(role)) role.child.kill('SIGKILL');
        await member.joined();
        await member.leave();
      }
      if (alive(role)) role.child.kill('SIGKILL');
      await role.exited;
      assert.equal(role.child.signalCode, 'SIGKILL', `life ${life} died of SIGKILL, not by itself:\n${role.logs().slice(-2000)}`);
      kills.push({ life, kind, fired, trained: latestCheckpoint(p.stateDir)?.eventsTrained ?? 0, ...(fellBackFrom === undefined ? {} : { fellBackFrom }) });
    }
    await p.send(stream.slice(kinds.length * slice));
    const last = (roles.last = startLearn(['train'], p.env));
    await settle(p, ledger, 180_000);
    assert.equal(await stopRole(last), 0, 'clean exit on SIGTERM');
  });
  t.diagnostic(JSON.stringify({ seed: SEED, kills }));
  const fired = (k: GroupKill) => kills.filter((x) => x.kind === k && x.fired).length;
  const note = `${kills.length} SIGKILLs in one group: ${fired('fallback-rebalance')} after a checkpoint fallback and a rebalance (member joined and left), ${fired('rebalance')} during a rebalance, ${fired('lease-handover')} just after taking over a dead trainer's lease, ${fired('timed')} at random times`;
  assert.equal(kills.length, 10);
  assert.ok(fired('fallback-rebalance') === 2 && fired('rebalance') === 3 && fired('lease-handover') === 3, note);
  await finish('10 SIGKILLs keeping the consumer group', started, p, ledger, note, t);
});
