import type { Command } from 'commander';
import { benchFreshness } from '../../bench/freshness.js';
import { benchScale } from '../../bench/scale.js';
import { loadConfig } from '../../config/load.js';
import { intOption, subgroup } from '../options.js';

/** Benchmarks of the whole pipeline (the per-component ones sit with their components). */
export function registerPipelineBench(program: Command): void {
  subgroup(program, 'bench', 'benchmarks that print JSON')
    .command('freshness')
    .description('listing produced -> item vector in Redis, event produced -> user vector updated (p50/p99), through the real broker and Redis')
    .option('--listings <n>', 'new listings to time', intOption('--listings'), 40)
    .option('--events <n>', 'events to time', intOption('--events'), 24)
    .action(async (o: { listings: number; events: number }) => {
      const result = await benchFreshness(loadConfig(), { listings: o.listings, events: o.events });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
  subgroup(program, 'bench', 'benchmarks that print JSON')
    .command('scale')
    .description('synthetic trainer state at N users (full histories): RSS, heap per user, checkpoint bytes and ms, event-loop delay during the checkpoint, restore ms')
    .option('--users <n>', 'users, each with a full history', intOption('--users'), 1_000_000)
    .option('--history <n>', 'items per history (LEARN_HISTORY_LEN)', intOption('--history'), 50)
    .option('--catalogue <n>', 'distinct item ids', intOption('--catalogue'), 20_000)
    .option('--weights <n>', 'float32 values beside the state (weights and optimizer moments)', intOption('--weights'), 3_000_000)
    .action(async (o: { users: number; history: number; catalogue: number; weights: number }) => {
      const result = await benchScale({ users: o.users, historyLen: o.history, catalogue: o.catalogue, weightValues: o.weights });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
}
