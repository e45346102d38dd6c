import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { benchTrainer, palConfigFromConfig, type BackendChoice } from '../../model/index.js';

const BACKENDS: readonly BackendChoice[] = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'];

/** `learn bench trainer`: the PAL training step's speed on the selected backend and on pure JS. */
export function registerModelBench(program: Command): void {
  const bench =
    program.commands.find((c) => c.name() === 'bench') ?? program.command('bench').description('benchmarks that print JSON');
  bench
    .command('trainer')
    .description('PAL training steps/s and examples/s (forward, all-action loss, backward, AdamW) vs the cpu backend')
    .option('--users <n>', 'users per micro-batch', '64')
    .option('--steps <n>', 'timed steps on the selected backend', '10')
    .option('--cpu-steps <n>', 'timed steps on the pure-JS cpu backend for the ratio (0 skips)', '2')
    .option('--content-dim <n>', 'content vector width (the frozen LM output)', '384')
    .option('--backend <name>', `tfjs backend: ${BACKENDS.join('|')} (default: LEARN_TF_BACKEND)`)
    .action(async (opts: { users: string; steps: string; cpuSteps: string; contentDim: string; backend?: string }) => {
      const cfg = loadConfig();
      const backend = opts.backend ?? cfg.tfBackend;
      if (!(BACKENDS as readonly string[]).includes(backend)) throw new Error(`--backend: expected ${BACKENDS.join('|')}, got "${backend}"`);
      const result = await benchTrainer({
        backend: backend as BackendChoice,
        config: palConfigFromConfig(cfg, count(opts.contentDim, '--content-dim', 1)),
        usersPerBatch: count(opts.users, '--users', 2),
        steps: count(opts.steps, '--steps', 1),
        cpuSteps: count(opts.cpuSteps, '--cpu-steps', 0),
      });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
}

function count(s: string, flag: string, min: number): number {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag}: expected an integer >= ${min}, got "${s}"`);
  return n;
}
