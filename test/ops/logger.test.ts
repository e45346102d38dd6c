import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

// In a child process: logToFile switches every logger, those made before the switch included.
test('logToFile: every line as JSON in the file, only warnings on stderr, readable', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'learn-log-')), 'run', 'demo.log');
  const logger = new URL('../../src/ops/logger.js', import.meta.url).href;
  const script = `
    const { log, logToFile } = await import(${JSON.stringify(logger)});
    const early = log('early');
    logToFile(${JSON.stringify(file)});
    early.info('info line');
    log('late').warn({ err: { message: 'why' } }, 'warn line');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'info' } });
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string; component: string });
  assert.deepEqual(lines.map((l) => [l.component, l.msg]), [['early', 'info line'], ['late', 'warn line']]);
  assert.equal(r.stderr, 'WARN late: warn line (why)\n');
});
