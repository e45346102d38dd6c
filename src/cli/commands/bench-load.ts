import type { Command } from 'commander';
import { benchLoad } from '../../bench/load.js';
import { benchSoak, SOAK_DEFAULT_RATE } from '../../bench/soak.js';
import { loadConfig } from '../../config/load.js';
import { intOption, subgroup } from '../options.js';

/** `learn bench load` (the highest event rate at which the in-process pipeline's lag stays flat) and `learn bench soak` (a long run at a flat rate). */
export function registerLoadBench(program: Command): void {
  const bench = subgroup(program, 'bench', 'benchmarks that print JSON');
  bench
    .command('load')
    .description('paced UserEvents (and listings) against encoder + trainer in-process on fresh topics, rates doubling until lag grows; per-second lag, RSS and event-loop delay as JSON')
    .option('--rate <n>', 'first target rate, events per second', intOption('--rate'), 50)
    .option('--duration <s>', 'seconds per rate step', intOption('--duration', 5), 10)
    .option('--max-rate <n>', 'highest rate tried', intOption('--max-rate'), 6400)
    .action(async (o: { rate: number; duration: number; maxRate: number }) => {
      const result = await benchLoad(loadConfig(), { rate: o.rate, durationS: o.duration, maxRate: o.maxRate });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
  bench
    .command('soak')
    .description('the load bench\'s pipeline and generator at one flat rate for N minutes: a JSON line per minute (RSS, event-loop delay p99, lag, events produced and trained), then the slopes per minute and whether RSS and lag are flat')
    .option('--minutes <n>', 'minutes to run', intOption('--minutes'), 30)
    .option('--rate <n>', `events per second (default: half the highest flat rate \`learn bench load\` measured on the project's 2-core machine)`, intOption('--rate'), SOAK_DEFAULT_RATE)
    .action(async (o: { minutes: number; rate: number }) => {
      const summary = await benchSoak(loadConfig(), { rate: o.rate, minutes: o.minutes }, (m) => process.stdout.write(`${JSON.stringify(m)}\n`));
      process.stdout.write(`${JSON.stringify({ summary })}\n`);
      if (summary.verdict !== 'flat') process.exitCode = 1;
    });
}
