import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { redisUrl } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { printableId } from '../../src/cli/commands/serve.js';
import { VectorStore } from '../../src/store/vector-store.js';
import { dropPrefix, filled, uniquePrefix } from '../store/helpers.js';
import { ensureStack } from '../support/stack.js';

const run = promisify(execFile);
const prefix = uniquePrefix('serve-cli');
let url: string;

before(async () => {
  url = redisUrl(await ensureStack());
  const store = await VectorStore.open({ redisUrl: url, prefix });
  const ver = await store.beginVersion({ dim: 2 });
  await store.writeItemVectors(ver, [
    { id: 'a', eventTime: 1, vector: Float32Array.of(1, 0) },
    { id: 'b', eventTime: 1, vector: Float32Array.of(0.5, 0.5) },
    { id: 'c', eventTime: 1, vector: Float32Array.of(0, 1) },
  ]);
  await store.writeUserVectors(ver, [{ id: 'u', eventTime: 1, vector: filled(2, 1) }]);
  await store.recordInteractions([{ userId: 'u', itemId: 'b', eventTime: 1 }]);
  await store.publishVersion(ver);
  await store.close();
});
after(() => dropPrefix(url, prefix));

function learn(...args: string[]): Promise<{ stdout: string }> {
  return run(process.execPath, [join(PROJECT_ROOT, 'bin/learn.js'), ...args], {
    env: { ...process.env, LEARN_REDIS_PREFIX: prefix, LOG_LEVEL: 'error' },
  });
}

test('learn recommend and learn similar print the library answer; errors as JSON with a non-zero exit', async () => {
  const rec = JSON.parse((await learn('recommend', '--user', 'u', '--k', '5', '--json')).stdout) as { items: Array<{ itemId: string; score: number }> };
  assert.deepEqual(rec.items.map((i) => i.itemId), ['a', 'c']);
  const sim = JSON.parse((await learn('similar', '--item', 'a', '--k', '1', '--json')).stdout) as { items: Array<{ itemId: string }> };
  assert.deepEqual(sim.items.map((i) => i.itemId), ['b']);
  assert.match((await learn('recommend', '--user', 'u', '--k', '2')).stdout, /^version \d+\n\s+1\s+1\.000000\s+a\n/);
  // A user without a vector gets the popular items, marked so, not an error (which would tell which users exist).
  const ghost = JSON.parse((await learn('recommend', '--user', 'ghost', '--json')).stdout) as { source: string; items: Array<{ itemId: string }> };
  assert.equal(ghost.source, 'popularity');
  assert.deepEqual(ghost.items.map((i) => i.itemId), ['b']);
  await assert.rejects(learn('similar', '--item', 'a', '--k', '0', '--json'), (e: { code?: number }) => e.code === 2);
});

test('learn recommend prints ids with control characters escaped, so an id cannot drive the terminal', async () => {
  const evilPrefix = uniquePrefix('serve-cli-esc');
  const evil = 'x\u001b]0;owned\u0007\u001b[2J\u009b\\y';
  const store = await VectorStore.open({ redisUrl: url, prefix: evilPrefix });
  try {
    const ver = await store.beginVersion({ dim: 2 });
    await store.writeItemVectors(ver, [{ id: evil, eventTime: 1, vector: Float32Array.of(1, 1) }]);
    await store.writeUserVectors(ver, [{ id: 'u', eventTime: 1, vector: filled(2, 1) }]);
    await store.publishVersion(ver);
    const { stdout } = await run(process.execPath, [join(PROJECT_ROOT, 'bin/learn.js'), 'recommend', '--user', 'u'], {
      env: { ...process.env, LEARN_REDIS_PREFIX: evilPrefix, LOG_LEVEL: 'error' },
    });
    assert.doesNotMatch(stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/, 'no control character but the newlines');
    assert.match(stdout, /2\.000000 {2}x\\x1b\]0;owned\\x07\\x1b\[2J\\x9b\\\\y\n/);
  } finally {
    await store.close();
    await dropPrefix(url, evilPrefix);
  }
});

test('printableId escapes C0, DEL, C1 and line separators, and backslashes so the escaping is unambiguous', () => {
  assert.equal(printableId('plain-id_1:ü'), 'plain-id_1:ü');
  assert.equal(printableId('a\nb\tc\u007f\u0085\u2028\\'), 'a\\x0ab\\x09c\\x7f\\x85\\u2028\\\\');
});
