import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TopicMessages } from 'kafkajs';
import { decode } from '../../src/codec/index.js';
import { produceRecords, type Clock } from '../../src/data/produce.js';
import type { DatasetRecord } from '../../src/data/stream.js';

const listing = (item: string, t: number): DatasetRecord => ({
  kind: 'listing',
  value: { item_id: item, title: item, category: null, brand: null, price: null, keywords: null, attributes: null, listed_at: t },
});
const event = (id: string, user: string, item: string, t: number): DatasetRecord => ({
  kind: 'event',
  value: { event_id: id, user_id: user, item_id: item, type: 'click', ts: t, weight: 1 },
});

/** Virtual time: sleeping advances it, nothing else does. Records every sleep. */
function fakeClock(): Clock & { sleeps: number[] } {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

const stream: DatasetRecord[] = [listing('a', 0), event('1', 'u', 'a', 1000), event('2', 'v', 'a', 1000), listing('b', 61_000), event('3', 'u', 'b', 62_000)];

test('as fast as possible: batches of consecutive records, listings keyed by item, events by user, Avro values', async () => {
  const batches: TopicMessages[][] = [];
  const clock = fakeClock();
  const summary = await produceRecords(stream, async (b) => void batches.push(b), { topics: { listings: 'L', events: 'E' }, batchSize: 2 }, clock);
  assert.deepEqual(clock.sleeps, []);
  assert.deepEqual(
    batches.map((b) => b.map((t) => `${t.topic}:${t.messages.map((m) => m.key).join(',')}`)),
    // The 2nd batch holds event 2 and listing b: one request, one entry per topic.
    [['L:a', 'E:u'], ['L:b', 'E:v'], ['E:u']],
  );
  const firstEvent = batches[0]?.[1]?.messages[0]?.value;
  assert.ok(Buffer.isBuffer(firstEvent));
  assert.deepEqual({ ...decode('UserEvent', firstEvent) }, stream[1]?.value);
  assert.equal(summary.listings, 2);
  assert.equal(summary.events, 3);
  assert.equal(summary.aborted, false);
});

test('--speed scales the gaps, caps each pause at maxSleepMs, and flushes before sleeping', async () => {
  const sent: string[] = [];
  const clock = fakeClock();
  await produceRecords(
    stream,
    async (b) => void sent.push(b.flatMap((t) => t.messages.map((m) => String(m.key))).join('+')),
    { speed: 10, maxSleepMs: 2000, batchSize: 100 },
    clock,
  );
  // Gaps 1000, 0, 60000, 1000 ms at 10x: 100, 0, 6000 capped to 2000, 100.
  assert.deepEqual(clock.sleeps, [100, 2000, 100]);
  assert.deepEqual(sent, ['a', 'u+v', 'b', 'u']);
});

test('an abort stops after the batch in flight; the summary counts what was sent', async () => {
  const stop = new AbortController();
  const summary = await produceRecords(
    stream,
    async () => {
      stop.abort();
    },
    { batchSize: 2, signal: stop.signal },
    fakeClock(),
  );
  assert.equal(summary.aborted, true);
  assert.equal(summary.listings + summary.events, 2);
});

test('bad options are refused', async () => {
  await assert.rejects(produceRecords(stream, async () => undefined, { speed: -1 }), RangeError);
  await assert.rejects(produceRecords(stream, async () => undefined, { batchSize: 0 }), RangeError);
});
