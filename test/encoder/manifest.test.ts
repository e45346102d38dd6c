import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readManifest, sha256File } from '../../src/encoder/manifest.js';

test('sha256File hashes a file (known value for "abc")', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'learn-manifest-'));
  try {
    await writeFile(join(dir, 'f'), 'abc');
    assert.equal(await sha256File(join(dir, 'f')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a missing, corrupt or incomplete manifest reads as absent (the model is fetched again)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'learn-manifest-'));
  try {
    assert.equal(await readManifest(dir), undefined);
    await writeFile(join(dir, 'manifest.json'), '{not json');
    assert.equal(await readManifest(dir), undefined);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ manifestVersion: 1, name: 'x' }));
    assert.equal(await readManifest(dir), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
