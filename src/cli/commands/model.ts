import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { intOption, subgroup } from '../options.js';
import { benchTrainer } from '../../bench/trainer-step.js';
import { palConfigFromConfig, type BackendChoice } from '../../model/index.js';

const BACKENDS: readonly BackendChoice[] = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'];

/** `learn bench trainer`: the PAL training step's speed on the selected backend and on pure JS. */
export function registerModelBench(program: Command): void {
  subgroup(program, 'bench', 'benchmarks that print JSON')
    .command('trainer')
    .description('PAL training steps/s and examples/s (forward, all-action loss, backward, AdamW) vs the cpu backend')
    .option('--users <n>', 'users per micro-batch', intOption('--users', 2), 64)
    .option('--steps <n>', 'timed steps on the selected backend', intOption('--steps'), 10)
    .option('--cpu-steps <n>', 'timed steps on the pure-JS cpu backend for the ratio (0 skips)', intOption('--cpu-steps', 0), 2)
    .option('--targets <n>', 'target events per user in each batch', intOption('--targets'), 4)
    .option('--content-dim <n>', 'content vector width (the frozen LM output)', intOption('--content-dim'), 384)
    .option('--reference <framework>', 'also time the same step in PyTorch CPU (bench/reference/pal_step.py), alternating: torch')
    .option('--reference-threads <list>', 'PyTorch thread counts to time, comma-separated', '2,1')
    .option('--threads <n>', 'wasm backend threads: 1 (default) is the single-threaded build, more use the threaded one', intOption('--threads'))
    .option('--backend <name>', `tfjs backend: ${BACKENDS.join('|')} (default: LEARN_TF_BACKEND)`)
    .action(async (opts: {
      users: number;
      targets: number;
      steps: number;
      cpuSteps: number;
      contentDim: number;
      backend?: string;
      threads?: number;
      reference?: string;
      referenceThreads: string;
    }) => {
      if (opts.reference !== undefined && opts.reference !== 'torch') throw new Error(`--reference: expected torch, got "${opts.reference}"`);
      const referenceThreads = opts.referenceThreads.split(',').map((t) => intOption('--reference-threads')(t));
      const cfg = loadConfig();
      const backend = opts.backend ?? cfg.tfBackend;
      if (!(BACKENDS as readonly string[]).includes(backend)) throw new Error(`--backend: expected ${BACKENDS.join('|')}, got "${backend}"`);
      const result = await benchTrainer({
        backend: backend as BackendChoice,
        config: palConfigFromConfig(cfg, opts.contentDim),
        usersPerBatch: opts.users,
        targetsPerUser: opts.targets,
        steps: opts.steps,
        cpuSteps: opts.cpuSteps,
        ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
        ...(opts.reference === 'torch' ? { reference: 'torch' as const, referenceThreads } : {}),
      });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
}
