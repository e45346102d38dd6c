import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkRetries } from '../../src/kafka/chunk-retries.js';

const at = (offset: string) => ({ topic: 't', partition: 0, offset });

test('a chunk is given up on after maxTries failures in a row, counted per first offset', () => {
  const r = new ChunkRetries(3);
  assert.equal(r.failed(at('10')), false);
  assert.equal(r.failed(at('10')), false);
  assert.equal(r.failed(at('10')), true);
  assert.equal(r.failed(at('20')), false, 'another chunk starts a new count');
  r.succeeded();
  assert.equal(r.failed(at('20')), false, 'a success in between starts a new count');
});
