import assert from 'node:assert/strict';
import { test } from 'node:test';
import { soakSummary, soakWarmupMinutes, type SoakMinute } from '../../src/bench/soak.js';

const minute = (m: number, rssMiB: number, lag: number): SoakMinute => ({
  minute: m, elapsedS: 60 * m, producedInMinute: 6000, produced: 6000 * m, trained: 6000 * m - lag, lag, lagMax: lag, untrained: lag,
  rssMiB, heapUsedMiB: 100, externalMiB: 10, wasmHeapMiB: 64, loopDelayP99Ms: 20, loopDelayMaxMs: 40,
  tensors: 120, tensorMiB: 3, contentItems: 1000, usersKept: 500, historyItems: 25_000, lastBuildVersion: 2, lastBuildMs: 900,
});

test('soakSummary: noisy but level RSS and lag are flat; the first minute (start-up) is left out of the fit', () => {
  const ms = [minute(1, 200, 900), ...[600, 610, 595, 605, 600, 612, 598].map((rss, i) => minute(i + 2, rss, [40, 90, 60, 20, 80, 50, 70][i]!))];
  const s = soakSummary(100, ms);
  assert.deepEqual(s.fittedMinutes, [2, 3, 4, 5, 6, 7, 8]);
  assert.equal(s.verdict, 'flat', JSON.stringify(s));
  assert.ok(Math.abs(s.slopes.rssMiBPerMinute) < 2);
});

test('soakSummary: RSS that grows 10 MiB a minute, or lag that grows, is not flat', () => {
  const leak = soakSummary(100, Array.from({ length: 10 }, (_, i) => minute(i + 1, 500 + 10 * i, 50)));
  assert.equal(leak.slopes.rssMiBPerMinute, 10);
  assert.equal(leak.rssFlat, false);
  assert.equal(leak.lagFlat, true);
  assert.equal(leak.verdict, 'growing');
  const behind = soakSummary(100, Array.from({ length: 10 }, (_, i) => minute(i + 1, 500, 50 + 30 * i)));
  assert.equal(behind.slopes.lagPerMinute, 30);
  assert.equal(behind.lagFlat, false);
  assert.equal(behind.rssFlat, true);
});

test('soakSummary: one minute gives no slope and no flat verdict', () => {
  assert.equal(soakSummary(100, [minute(1, 500, 50)]).verdict, 'growing');
});

test('soakSummary: slopes are per wall-clock minute, and the achieved rate is what was produced per second', () => {
  // A generator that fell behind: each minute of production took two.
  const s = soakSummary(100, Array.from({ length: 5 }, (_, i) => ({ ...minute(i + 1, 500 + 10 * i, 50), elapsedS: 120 * (i + 1) })));
  assert.deepEqual(s.fittedMinutes, [4, 6, 8, 10]);
  assert.equal(s.slopes.rssMiBPerMinute, 5);
  assert.equal(s.achievedRate, 50);
});

test('soakSummary: the warm-up minutes (histories still filling) are left out of the fit; the generator is in the summary', () => {
  // RSS climbs while histories fill (minutes 1-4), then is level.
  const ms = [300, 350, 400, 450, 500, 502, 499, 501, 500, 503].map((rss, i) => minute(i + 1, rss, 50));
  const gen = { users: 500, catalogue: 1000, filledHistories: false, warmupMinutes: 4 } as const;
  const s = soakSummary(100, ms, gen);
  assert.deepEqual(s.fittedMinutes, [5, 6, 7, 8, 9, 10]);
  assert.equal(s.verdict, 'flat', JSON.stringify(s));
  assert.equal(s.users, 500);
  assert.equal(s.catalogue, 1000);
  assert.equal(soakSummary(100, ms, { ...gen, warmupMinutes: 1 }).rssFlat, false, 'the climb counts when the fit starts at minute 2');
});

test('soakWarmupMinutes: until every user (round robin) has historyLen events, and at least one', () => {
  assert.equal(soakWarmupMinutes(100, 500, 50), 5);
  assert.equal(soakWarmupMinutes(100, 5000, 50), 42);
  assert.equal(soakWarmupMinutes(1000, 10, 50), 1);
});
