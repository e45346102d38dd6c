import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { decode, type ItemListing, type UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { readTopic } from '../support/kafka.js';
import { ensureStack, freshTopic } from '../support/stack.js';

let cfg: Config;
before(async () => {
  cfg = await ensureStack();
});

const listings: ItemListing[] = ['k1', 'k2', 'k3'].map((id, i) => ({
  item_id: id,
  title: `Kettle ${i + 1}`,
  category: 'Kitchen',
  brand: i === 0 ? 'Acme' : null,
  price: i === 0 ? '19.90 EUR' : null,
  keywords: i === 0 ? ['steel', 'electric'] : null,
  attributes: null,
  listed_at: 1_700_000_000_000 + i,
}));
const events: UserEvent[] = Array.from({ length: 12 }, (_, i) => ({
  event_id: `e${i}`,
  user_id: `u${i % 4}`,
  item_id: `k${(i % 3) + 1}`,
  type: i % 5 === 0 ? 'purchase' : 'click',
  ts: 1_700_000_010_000 + i * 10,
  weight: i % 5 === 0 ? 1 : null,
}));

function groupByKey(messages: KafkaMessage[]): Map<string, Buffer[]> {
  const out = new Map<string, Buffer[]>();
  for (const m of messages) {
    const key = String(m.key);
    out.set(key, [...(out.get(key) ?? []), m.value as Buffer]);
  }
  return out;
}

test('learn produce publishes a JSONL data set to the given topics: same records, same order per key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'learn-produce-test-'));
  const path = join(dir, 'shop.jsonl');
  writeFileSync(path, [...listings.map((l) => ({ kind: 'listing', ...l })), ...events.map((e) => ({ kind: 'event', ...e }))].map((x) => JSON.stringify(x)).join('\n'));
  const listingsTopic = await freshTopic(cfg, 'produce-listings', 2);
  const eventsTopic = await freshTopic(cfg, 'produce-events', 3);

  const r = spawnSync(
    process.execPath,
    [join(PROJECT_ROOT, 'bin/learn.js'), 'produce', path, '--listings-topic', listingsTopic, '--events-topic', eventsTopic, '--batch-size', '4'],
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(summary.listings, 3);
  assert.equal(summary.events, 12);
  assert.equal(summary.listingsTopic, listingsTopic);
  assert.equal(summary.eventsTopic, eventsTopic);
  assert.equal(typeof summary.msgsPerSec, 'number');

  const gotListings = groupByKey(await readTopic(cfg, listingsTopic, 3));
  for (const l of listings) assert.deepEqual(gotListings.get(l.item_id)?.map((b) => ({ ...decode('ItemListing', b) })), [l]);

  const gotEvents = groupByKey(await readTopic(cfg, eventsTopic, 12));
  for (const user of ['u0', 'u1', 'u2', 'u3']) {
    assert.deepEqual(
      gotEvents.get(user)?.map((b) => ({ ...decode('UserEvent', b) })),
      events.filter((e) => e.user_id === user),
      `events of ${user}`,
    );
  }
});

test('learn produce --limit stops after N events and reports a bad data set with its line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'learn-produce-test-'));
  const path = join(dir, 'bad.jsonl');
  writeFileSync(path, `${JSON.stringify({ kind: 'listing', ...listings[0] })}\n{"kind":"event"}\n`);
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin/learn.js'), 'produce', path], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /bad\.jsonl:2: /);

  const good = join(dir, 'good.jsonl');
  writeFileSync(good, [...listings.map((l) => ({ kind: 'listing', ...l })), ...events.map((e) => ({ kind: 'event', ...e }))].map((x) => JSON.stringify(x)).join('\n'));
  const eventsTopic = await freshTopic(cfg, 'produce-limit');
  const listingsTopic = await freshTopic(cfg, 'produce-limit-l');
  const ok = spawnSync(
    process.execPath,
    [join(PROJECT_ROOT, 'bin/learn.js'), 'produce', good, '--limit', '5', '--listings-topic', listingsTopic, '--events-topic', eventsTopic],
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(JSON.parse(ok.stdout).events, 5);
  const got = (await readTopic(cfg, eventsTopic, 5)).map((m) => decode('UserEvent', m.value as Buffer).event_id);
  assert.deepEqual(got, ['e0', 'e1', 'e2', 'e3', 'e4']);
});
