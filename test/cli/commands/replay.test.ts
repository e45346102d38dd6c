import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLimit } from '../../../src/cli/commands/replay.js';

test('--limit: a positive integer, or every event when unset or "all"; anything else is refused by name', () => {
  assert.equal(parseLimit('20000'), 20_000);
  assert.equal(parseLimit('all'), undefined);
  assert.equal(parseLimit(undefined), undefined);
  for (const bad of ['0', '-5', '2.5', 'ten', '']) assert.throws(() => parseLimit(bad), /--limit must be a positive integer or "all"/);
});
