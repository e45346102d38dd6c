import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WindowAge } from '../../src/trainer/window-age.js';

// The rehearsal gate's clock: record timestamps come from producers (CreateTime), so none may make a window look
// fresher than its arrival says.

const NOW = 1_800_000_000_000;

test('a window of honestly stamped events is as old as its oldest event', () => {
  const age = new WindowAge(5_000);
  age.note(String(NOW - 2_000), NOW - 100);
  age.note(String(NOW - 7_000), NOW - 50);
  assert.equal(age.take(NOW), 7_000);
  assert.equal(age.take(NOW), 0, 'starts over: no event noted counts as on time');
});

test('a record stamped far in the future does not make a stale window look fresh', () => {
  const age = new WindowAge(5_000);
  age.note(String(NOW + 24 * 3_600_000), NOW);
  assert.equal(age.take(NOW + 1_000), Infinity);
  assert.equal(age.untrustedCount, 1);
});

test('a stamp ahead of its arrival by less than the skew counts as arrived then, and an unreadable one as behind', () => {
  const age = new WindowAge(5_000);
  age.note(String(NOW + 3_000), NOW);
  assert.equal(age.take(NOW + 1_000), 1_000);
  age.note('not-a-number', NOW);
  assert.equal(age.take(NOW), Infinity);
});
