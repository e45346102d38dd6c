import type { Command } from 'commander';
import { benchLoad } from '../../bench/load.js';
import { loadConfig } from '../../config/load.js';
import { intOption, subgroup } from '../options.js';

/** `learn bench load`: the highest event rate at which the in-process pipeline's lag stays flat. */
export function registerLoadBench(program: Command): void {
  subgroup(program, 'bench', 'benchmarks that print JSON')
    .command('load')
    .description('paced UserEvents (and listings) against encoder + trainer in-process on fresh topics, rates doubling until lag grows; per-second lag, RSS and event-loop delay as JSON')
    .option('--rate <n>', 'first target rate, events per second', intOption('--rate'), 50)
    .option('--duration <s>', 'seconds per rate step', intOption('--duration', 5), 10)
    .option('--max-rate <n>', 'highest rate tried', intOption('--max-rate'), 6400)
    .action(async (o: { rate: number; duration: number; maxRate: number }) => {
      const result = await benchLoad(loadConfig(), { rate: o.rate, durationS: o.duration, maxRate: o.maxRate });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
}
