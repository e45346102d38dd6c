import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { cachedLibTensorflow, LIBTENSORFLOW } from '../../src/native/libtensorflow.js';
import { nativeReadiness } from '../../src/native/status.js';

function learn(args: string[], env: Record<string, string>): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'bin/learn.js'), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('npm ci never fails for the native backend: a missing piece is one line naming it, exit 0', () => {
  const empty = mkdtempSync(join(tmpdir(), 'learn-native-'));
  try {
    const r = learn(['native', 'setup', '--postinstall'], { LEARN_NATIVE_DIR: empty, LEARN_PYTHON: '/nonexistent/python3' });
    assert.equal(r.code, 0);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    assert.match(lines[0]!, /native backend not set up \(.*\/nonexistent\/python3 is not on PATH.*\); the wasm backend will run/);
    // Without --postinstall the same failure is an error.
    assert.equal(learn(['native', 'setup'], { LEARN_NATIVE_DIR: empty, LEARN_PYTHON: '/nonexistent/python3' }).code, 1);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('LEARN_NATIVE_SETUP=off skips the postinstall step; a bad value is named', () => {
  const off = learn(['native', 'setup', '--postinstall'], { LEARN_NATIVE_SETUP: 'off' });
  assert.equal(off.code, 0);
  assert.equal(off.stdout.trim(), 'learn native setup: skipped (LEARN_NATIVE_SETUP=off); the wasm backend will run');
  const bad = learn(['native', 'setup'], { LEARN_NATIVE_SETUP: 'maybe' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /LEARN_NATIVE_SETUP/);
});

test('learn doctor names the backend and why, with the pinned library', async (t) => {
  const cached = await cachedLibTensorflow(resolve(PROJECT_ROOT, process.env.LEARN_NATIVE_DIR || '.cache/native'));
  if (!cached || !nativeReadiness().ready) {
    t.skip('libtensorflow not fetched here (run learn native setup)');
    return;
  }
  const r = learn(['doctor'], {});
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { backend: string; why: string; native: { ready: boolean; library: { libraries: Record<string, { sha256: string }> } } };
  assert.equal(report.backend, 'node');
  assert.match(report.why, /native binding loaded/);
  assert.equal(report.native.ready, true);
  for (const [name, sha] of Object.entries(LIBTENSORFLOW.libraries)) assert.equal(report.native.library.libraries[name]?.sha256, sha);
  const wasm = learn(['doctor'], { LEARN_TF_BACKEND: 'wasm' });
  assert.equal((JSON.parse(wasm.stdout) as { backend: string; why: string }).why, 'LEARN_TF_BACKEND=wasm');
});
