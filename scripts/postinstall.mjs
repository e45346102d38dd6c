// npm ci's postinstall step: build the TypeScript, then `learn native setup --postinstall` (fetch libtensorflow once,
// build the tfjs-node binding). It never fails the install: on any failure it prints one line and exits 0, and the
// product runs on the wasm backend, saying why at start. LEARN_NATIVE_SETUP=off skips it (validated by the CLI).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const say = (line) => process.stdout.write(`learn native setup: ${line}\n`);
try {
  if (process.env.LEARN_NATIVE_SETUP === 'off') {
    say('skipped (LEARN_NATIVE_SETUP=off); the wasm backend will run');
    process.exit(0);
  }
  // A partial checkout (a container build that copied package.json only) has nothing to build yet.
  if (!existsSync('tsconfig.json') || !existsSync('src')) {
    say('skipped (no sources here yet); run learn native setup after the build');
    process.exit(0);
  }
  const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (build.status !== 0) {
    say('skipped (the TypeScript build failed); run learn native setup after fixing the build');
    process.exit(0);
  }
  spawnSync(process.execPath, ['bin/learn.js', 'native', 'setup', '--postinstall'], { stdio: ['ignore', 'inherit', 'inherit'] });
} catch (err) {
  say(`skipped (${err instanceof Error ? err.message : String(err)})`);
}
process.exit(0);
