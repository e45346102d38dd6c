import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readPerUser, type PerUser } from '../../src/replay/compare.js';

test('readPerUser: a run folder or its metrics.json, and a clear error for a missing report or method', () => {
  const dir = mkdtempSync(join(tmpdir(), 'compare-'));
  try {
    const per: PerUser = { u1: [2, 1, 0.5, 1, 0] };
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify({ perUser: { learn: per } }));
    assert.deepEqual(readPerUser(dir, 'learn'), per);
    assert.deepEqual(readPerUser(join(dir, 'metrics.json'), 'learn'), per);
    assert.throws(() => readPerUser(dir, 'sasrec'), /no per-user metrics for method "sasrec"/);
    assert.throws(() => readPerUser(join(dir, 'nothing'), 'learn'), /no replay report at .*nothing/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
