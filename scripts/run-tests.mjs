// Runs every compiled test file (dist/test/**/*.test.js) with node:test, one file at a time:
// integration suites share the one local stack, and CI has two cores.
// Extra arguments filter by path substring: `npm test -- codec kafka`.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.test.js') ? [join(dir, e.name)] : [],
  );
}
const filters = process.argv.slice(2);
const files = walk('dist/test')
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// Components log to stderr; keep test output readable unless LOG_LEVEL asks for more.
const env = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
// --test-force-exit: a file whose tests are done exits even if a client it leaked still holds the event loop. A
// leaked kafkajs consumer (restarted after its stop) once kept a CI run waiting until its 90-minute limit; that
// leak has its own test now (kafka/consumer-runner), and this keeps any other from hanging the whole run.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', '--test-force-exit', ...files], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
