import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { selectBackend } from '../../model/backend.js';
import { nativePackageLayout } from '../../native/binding.js';
import { cachedLibTensorflow } from '../../native/libtensorflow.js';
import { setupNative } from '../../native/setup.js';
import { nativeReadiness } from '../../native/status.js';

/** `learn native setup` (also npm ci's postinstall step) and `learn doctor`: the native TensorFlow backend. */
export function registerNative(program: Command): void {
  const native = program.command('native').description('the native TensorFlow backend (docs/native.md)');
  native
    .command('setup')
    .description('fetch libtensorflow once into LEARN_NATIVE_DIR (a pinned PyPI wheel, 230 MB) and build the tfjs-node binding against it')
    .option('--verify', 're-hash the cached library')
    .option('--force', 'rebuild the binding even when it is up to date')
    .option('--postinstall', "npm ci's mode: honour LEARN_NATIVE_SETUP, and on any failure print one line naming the missing piece and exit 0")
    .action(async (opts: { verify?: boolean; force?: boolean; postinstall?: boolean }) => {
      try {
        const cfg = loadConfig();
        if (opts.postinstall && cfg.nativeSetup === 'off') {
          process.stdout.write('learn native setup: skipped (LEARN_NATIVE_SETUP=off); the wasm backend will run\n');
          return;
        }
        const r = await setupNative({ nativeDir: resolve(PROJECT_ROOT, cfg.nativeDir), python: cfg.pythonBin, verify: opts.verify ?? false, force: opts.force ?? false });
        process.stdout.write(`learn native setup: ${r.built ? 'binding built' : 'binding up to date'} against ${r.library.manifest.source.wheel} in ${(r.ms / 1000).toFixed(1)} s (${r.library.dir})\n`);
      } catch (err) {
        if (!opts.postinstall) throw err;
        // npm ci must never fail for an optional speed-up: the product falls back to wasm and says why at start.
        const first = (err instanceof Error ? err.message : String(err)).trim().replace(/\s*\n\s*/g, ' ');
        process.stdout.write(`learn native setup: native backend not set up (${first}); the wasm backend will run. Retry with: learn native setup\n`);
      }
    });

  program
    .command('doctor')
    .description('which TensorFlow backend runs and why, with the native library\'s path and hashes, as JSON')
    .option('--verify', 're-hash the native library against its pins')
    .action(async (opts: { verify?: boolean }) => {
      const cfg = loadConfig();
      const nativeDir = resolve(PROJECT_ROOT, cfg.nativeDir);
      const library = await cachedLibTensorflow(nativeDir, opts.verify ?? false);
      const readiness = nativeReadiness();
      const layout = nativePackageLayout();
      const chosen = await selectBackend(cfg.tfBackend);
      const report = {
        backend: chosen.choice,
        requested: cfg.tfBackend,
        threads: chosen.threads,
        why:
          chosen.choice === 'node' || chosen.choice === 'node-gpu'
            ? `the native binding loaded (${chosen.choice})`
            : cfg.tfBackend === 'auto'
              ? `native backend unavailable: ${chosen.skipped.find((s) => s.choice === 'node')?.reason ?? 'unknown'}`
              : `LEARN_TF_BACKEND=${cfg.tfBackend}`,
        skipped: chosen.skipped,
        native: {
          ready: readiness.ready,
          ...(readiness.ready ? {} : { reason: readiness.reason }),
          package: layout ? { dir: layout.dir, version: layout.version, binding: layout.bindingPath } : null,
          library: library
            ? { dir: library.dir, wheel: library.manifest.source.wheel, wheelSha256: library.manifest.source.wheelSha256, libraries: library.manifest.libraries, verified: opts.verify ?? false }
            : { dir: nativeDir, fetched: false },
        },
      };
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    });
}
