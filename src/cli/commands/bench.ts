import type { Command } from 'commander';
import { benchFreshness } from '../../bench/freshness.js';
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
}
