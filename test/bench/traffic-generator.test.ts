import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultCodec, type ItemListing, type UserEvent } from '../../src/codec/index.js';
import { TrafficGenerator, type PacedTick } from '../../src/bench/traffic-generator.js';
import { readTopic } from '../support/kafka.js';
import { ensureStack, freshTopic, uniqueGroup } from '../support/stack.js';

const codec = defaultCodec();

test('TrafficGenerator: its own thread keeps the paced rate while the main thread is blocked, and every event reaches the broker', async () => {
  const cfg = await ensureStack();
  const topics = { itemListings: await freshTopic(cfg, 'gen-listings'), userEvents: await freshTopic(cfg, 'gen-events'), itemContent: 'unused', dlq: 'unused' };
  const g = await TrafficGenerator.start(cfg, topics, { label: 'gen', run: 'r', users: 4, catalogue: 10 }, uniqueGroup('gen-lag'));
  try {
    assert.equal(g.listed(), 10, 'the whole catalogue listed before the first event');
    const ticks: PacedTick[] = [];
    const paced = g.paced(30, 3);
    const first = paced.next();
    // Block this thread for 2.5 s: a generator on this event loop could not send anything meanwhile.
    const blockedUntil = performance.now() + 2500;
    while (performance.now() < blockedUntil);
    const r = await first;
    assert.equal(r.done, false);
    ticks.push(r.value as PacedTick);
    for await (const t of { [Symbol.asyncIterator]: () => paced }) ticks.push(t);
    assert.deepEqual(ticks.map((t) => t.second), [1, 2, 3]);
    assert.deepEqual(ticks.map((t) => t.events), [30, 30, 30]);
    assert.deepEqual(ticks.map((t) => t.produced), [30, 60, 90]);
    // A group that never committed lags by the whole topic; the thread reads it right after each second's sends
    // (-1 when the broker could not say yet: a cold broker's first offset fetch may fail).
    assert.ok(ticks.every((t) => t.lag === -1 || t.lag === t.produced), `lags ${ticks.map((t) => t.lag)} against produced ${ticks.map((t) => t.produced)}`);
    assert.ok(ticks.some((t) => t.lag === t.produced), `no lag read: ${ticks.map((t) => t.lag)}`);
    assert.ok(ticks[0]!.elapsedMs < 2400, `the first second ended at ${ticks[0]!.elapsedMs.toFixed(0)} ms, while this thread was blocked until 2500 ms`);
    await g.burst(110);
    assert.equal(g.produced(), 200);

    const events = (await readTopic(cfg, topics.userEvents, 200)).map((m) => codec.decode('UserEvent', m.value!) as UserEvent);
    assert.equal(new Set(events.map((e) => e.event_id)).size, 200, 'every event once');
    assert.deepEqual([...new Set(events.map((e) => e.user_id))].sort(), ['u0', 'u1', 'u2', 'u3']);
    // 10 initial listings, then a re-listing per 100 events.
    const listings = (await readTopic(cfg, topics.itemListings, 12)).map((m) => codec.decode('ItemListing', m.value!) as ItemListing);
    assert.deepEqual(listings.map((l) => l.item_id), [...Array.from({ length: 10 }, (_, i) => `gen-${i}`), 'gen-0', 'gen-1']);
  } finally {
    await g.stop();
  }
});

test('TrafficGenerator: stop cuts a paced run short and ends the thread', async () => {
  const cfg = await ensureStack();
  const topics = { itemListings: await freshTopic(cfg, 'gen-stop-listings'), userEvents: await freshTopic(cfg, 'gen-stop-events'), itemContent: 'unused', dlq: 'unused' };
  const g = await TrafficGenerator.start(cfg, topics, { label: 'gen', run: 's', users: 2 }, uniqueGroup('gen-stop'));
  const paced = g.paced(10, 600);
  assert.equal((await paced.next()).done, false);
  const t0 = performance.now();
  await g.stop();
  // Without the cut the stop would wait behind ten minutes of pacing until its 10-s terminate.
  assert.ok(performance.now() - t0 < 8000, `stop took ${(performance.now() - t0).toFixed(0)} ms`);
  // The run ends within the seconds it had already reported: its last report (done), or the exit itself.
  let ended = false;
  for (let i = 0; i < 5 && !ended; i++) {
    const r: unknown = await paced.next().catch((err: unknown) => err);
    ended = r instanceof Error ? /thread exited/.test(r.message) : (r as IteratorResult<unknown>).done === true;
  }
  assert.ok(ended, 'the paced run ended');
});
