import type { Command } from 'commander';
import { benchLoad } from '../../bench/load.js';
import { benchSoak, SOAK_DEFAULT_CATALOGUE, SOAK_DEFAULT_RATE, SOAK_DEFAULT_USERS } from '../../bench/soak.js';
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
    .option('--catalogue <n>', 'item ids the listings cycle over (a listing per 100 events re-lists one): the steady state', intOption('--catalogue'), SOAK_DEFAULT_CATALOGUE)
    .option('--growing-catalogue', 'every listing a new item instead (the catalogue grows by rate/100 a second, bounded by LEARN_MAX_ITEMS): memory and build times then grow by design')
    .option('--users <n>', 'users the events cycle over', intOption('--users'), SOAK_DEFAULT_USERS)
    .option('--warmup <minutes>', 'minutes left out of the slopes (default: until every user\'s history is full, at least 1)', intOption('--warmup', 0))
    .action(async (o: { minutes: number; rate: number; catalogue: number; growingCatalogue?: boolean; users: number; warmup?: number }) => {
      const catalogue = o.growingCatalogue ? 'growing' : o.catalogue;
      const summary = await benchSoak(loadConfig(), { rate: o.rate, minutes: o.minutes, catalogue, users: o.users, warmupMinutes: o.warmup }, (m) => process.stdout.write(`${JSON.stringify(m)}\n`));
      process.stdout.write(`${JSON.stringify({ summary })}\n`);
      if (summary.verdict !== 'flat') process.exitCode = 1;
    });
}
