import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DataFetchError, fetchMl100k } from '../../src/data/ml100k-fetch.js';

const dir = mkdtempSync(join(tmpdir(), 'learn-fetch-test-'));

/** A stand-in interpreter: answers `-m pip --version` with `pipExit`, anything else with `downloadExit`. */
function fakePython(name: string, pipExit: number, downloadExit: number): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `#!/bin/sh\nif [ "$3" = "--version" ]; then echo "No module named pip" >&2; exit ${pipExit}; fi\necho "ERROR: network is unreachable" >&2\nexit ${downloadExit}\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

async function reasonOf(python: string): Promise<DataFetchError> {
  try {
    await fetchMl100k({ dataDir: join(dir, 'cache'), python });
  } catch (err) {
    assert.ok(err instanceof DataFetchError, String(err));
    return err;
  }
  assert.fail('fetch succeeded');
}

test('no python: a clear error naming the interpreter', async () => {
  const err = await reasonOf(join(dir, 'no-such-python'));
  assert.equal(err.reason, 'python-missing');
  assert.match(err.message, /not on PATH.*LEARN_PYTHON/);
});

test('python without pip: a clear error', async () => {
  const err = await reasonOf(fakePython('nopip', 1, 0));
  assert.equal(err.reason, 'pip-missing');
  assert.match(err.message, /install pip/);
});

test('a failed download: the error carries pip\'s own message', async () => {
  const err = await reasonOf(fakePython('offline', 0, 1));
  assert.equal(err.reason, 'download-failed');
  assert.match(err.message, /network is unreachable/);
});
