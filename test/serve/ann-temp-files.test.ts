import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { AnnIndex } from '../../src/serve/ann-index.js';
import { randomVector, rng } from '../store/helpers.js';

// A build killed mid-way (SIGKILL, OOM) leaves its graph file in the temp folder; the next process's first build
// removes it, and never a live process's. An abandoned build leaves nothing behind either.
const planted: string[] = [];
after(() => {
  for (const path of planted) rmSync(path, { force: true });
});

function unitRows(n: number, dim: number, seed: number): Float32Array {
  const next = rng(seed);
  const rows = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    const v = randomVector(dim, next);
    const norm = Math.hypot(...v);
    rows.set(
      v.map((x) => x / norm),
      r * dim,
    );
  }
  return rows;
}

/** The pid of a process that ran and exited (its pid is free again, barring a quick recycle). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid as number;
}

const ours = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith(`learn-ann-${process.pid}-`));

test('the first build removes graph files of dead processes and keeps a live process\'s', async () => {
  const dead = await deadPid();
  const stale = join(tmpdir(), `learn-ann-${dead}-0-1.usearch`);
  // The parent (the test runner) lives on while this file runs.
  const live = join(tmpdir(), `learn-ann-${process.ppid}-0-1.usearch`);
  const unrelated = join(tmpdir(), `learn-ann-${dead}-notes.txt`);
  for (const path of [stale, live, unrelated]) {
    writeFileSync(path, 'graph');
    planted.push(path);
  }
  const n = 10_000;
  const dim = 8;
  const rows = unitRows(n, dim, 7);
  const { ann } = await AnnIndex.build(rows.slice(), n, dim);
  assert.equal(existsSync(stale), false, 'a dead process\'s graph file is swept');
  assert.equal(existsSync(live), true, 'a live process\'s graph file stays');
  assert.equal(existsSync(unrelated), true, 'only graph files are touched');
  // Built in several native batches: rows of the later ones are in the graph under their own keys.
  assert.equal(ann.size, n);
  for (const r of [0, 8191, 8192, n - 1]) assert.ok(ann.candidates(rows.slice(r * dim, (r + 1) * dim), 10).includes(r), `row ${r}`);
  assert.deepEqual(ours(), []);
});

test('an abandoned build rejects at once and leaves no graph file', async () => {
  const n = 40_000;
  const dim = 32;
  const abort = new AbortController();
  const building = AnnIndex.build(unitRows(n, dim, 11), n, dim, abort.signal);
  await sleep(50);
  abort.abort(new Error('closed'));
  await assert.rejects(building, /closed/);
  // The thread stops at its next native batch and the file, if it began saving, is removed when it exits.
  for (let i = 0; i < 300 && ours().length > 0; i++) await sleep(100);
  assert.deepEqual(ours(), []);
  await assert.rejects(AnnIndex.build(new Float32Array(dim), 1, dim, abort.signal), /closed/);
});
