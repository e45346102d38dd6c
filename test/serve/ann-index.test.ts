import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { AnnIndex } from '../../src/serve/ann-index.js';
import { randomVector, rng } from '../store/helpers.js';

// Issue 23 item 6: the graph is built on a worker thread and loaded here; the loaded graph is a live one.
test('a graph built on the build thread holds every row, finds each row itself, takes upserts and leaves no temp file', async () => {
  const dim = 8;
  const n = 2000;
  const next = rng(5);
  const rows = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    const v = randomVector(dim, next);
    const norm = Math.hypot(...v);
    rows.set(v.map((x) => x / norm), r * dim);
  }
  const copy = rows.slice();
  const { ann } = await AnnIndex.build(copy, n, dim);
  assert.equal(copy.length, 0, 'the rows moved to the build thread');
  assert.equal(ann.size, n);
  // Among unit vectors, a row's own vector has the largest inner product with it.
  for (const r of [0, 999, n - 1]) {
    const q = rows.slice(r * dim, (r + 1) * dim);
    assert.ok(ann.candidates(q, 10).includes(r), `row ${r} among its own candidates`);
  }
  const moved = Float32Array.from({ length: dim }, (_, j) => (j === 0 ? 50 : 0));
  ann.upsert(7, moved);
  assert.equal(ann.candidates(moved, 1)[0], 7);
  assert.deepEqual(readdirSync(tmpdir()).filter((f) => f.startsWith(`learn-ann-${process.pid}-`)), []);
});
