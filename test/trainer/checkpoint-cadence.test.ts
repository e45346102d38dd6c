import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckpointCadence } from '../../src/trainer/checkpoint-cadence.js';

// When checkpoints are due, counted from marks: pure logic, with explicit clocks.

test('due after N windows or after the interval, counted from the newest checkpoint written', () => {
  const c = new CheckpointCadence(4, 1_000, 0);
  assert.equal(c.due(999), false, 'nothing trained: never due');
  for (let i = 0; i < 3; i++) c.windowTrained();
  assert.equal(c.due(500), false);
  assert.equal(c.due(1_000), true, 'by time');
  assert.equal(c.dueByTime(999), false);
  c.windowTrained();
  assert.equal(c.due(500), true, 'by windows');
  c.written(c.mark(), 600);
  assert.equal(c.sinceWritten, 0);
  assert.equal(c.due(5_000), false, 'nothing new since: not due however long ago');
});

test('two checkpoints in flight at once (taken at consecutive windows, written in turn) leave the count at what neither covers', () => {
  // The live trainer with its training thread: window A ends and its checkpoint is taken; window B ends before A's is
  // written and its checkpoint is taken too (it covers A's windows as well). Subtracting each one's count from a
  // running total went to -1 here, and the next window then made 0: that stream end was never checkpointed.
  const c = new CheckpointCadence(1, 1_000, 0);
  c.windowTrained();
  const a = c.mark();
  c.windowTrained();
  const b = c.mark();
  c.written(a, 10);
  assert.equal(c.sinceWritten, 1, 'B is not on disk yet');
  c.written(b, 20);
  assert.equal(c.sinceWritten, 0);
  c.windowTrained();
  assert.equal(c.sinceWritten, 1);
  assert.equal(c.due(30), true, 'the window after them is due at once (every 1 window)');
});

test('a checkpoint taken at a window end is superseded by one written at its mark or later (writing it would go back)', () => {
  const c = new CheckpointCadence(4, 1_000, 0);
  c.windowTrained();
  const older = c.mark();
  assert.equal(c.superseded(older), false, 'nothing written yet');
  c.windowTrained();
  const atEnd = c.mark();
  // The window timer's checkpoint, taken after that window's end at the same mark, is written first.
  c.written(atEnd, 10);
  assert.equal(c.superseded(older), true);
  assert.equal(c.superseded(atEnd), true, 'the same mark, taken earlier: its dead-letter marks and waiting events are older');
  c.windowTrained();
  assert.equal(c.superseded(c.mark()), false);
  c.written(older, 20);
  assert.equal(c.sinceWritten, 1, 'an older mark never moves the count back');
});
