import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { redisUrl } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/config/paths.js';
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
  await assert.rejects(learn('recommend', '--user', 'ghost', '--json'), (e: { code?: number; stdout?: string }) => {
    assert.equal(e.code, 1);
    assert.equal((JSON.parse(e.stdout ?? '') as { error: { code: string } }).error.code, 'unknown-user');
    return true;
  });
  await assert.rejects(learn('similar', '--item', 'a', '--k', '0', '--json'), (e: { code?: number }) => e.code === 2);
});
