import type { Command } from 'commander';
import { benchLoad, LOAD_DEFAULT_GENERATOR } from '../../bench/load.js';
import { benchSoak, SOAK_DEFAULT_CATALOGUE, SOAK_DEFAULT_RATE, SOAK_DEFAULT_USERS } from '../../bench/soak.js';
import { loadConfig } from '../../config/load.js';
import { intOption, numberOption, subgroup } from '../options.js';

/** `learn bench load` (the highest event rate at which the in-process pipeline's lag stays flat) and `learn bench soak` (a long run at a flat rate). */
export function registerLoadBench(program: Command): void {
  const bench = subgroup(program, 'bench', 'benchmarks that print JSON');
  bench
    .command('load')
    .description('paced UserEvents (and listings) from a generator thread against encoder + trainer in-process on fresh topics, at the steady state (a fixed catalogue, every user history full), rates growing until lag grows; per-second lag, RSS and event-loop delay as JSON')
    .option('--rate <n>', 'first target rate, events per second', intOption('--rate'), 25)
    .option('--factor <x>', 'rate multiplier between steps', numberOption('--factor', 1.1), 1.5)
    .option('--duration <s>', 'seconds per rate step', intOption('--duration', 5), 30)
    .option('--max-rate <n>', 'highest rate tried', intOption('--max-rate'), 6400)
    .option('--catalogue <n>', 'item ids, all listed and encoded before the first step (a listing per 100 events re-lists one)', intOption('--catalogue'), LOAD_DEFAULT_GENERATOR.catalogue)
    .option('--growing-catalogue', 'every listing a new item instead')
    .option('--users <n>', 'users the events cycle over', intOption('--users'), LOAD_DEFAULT_GENERATOR.users)
    .option('--no-fill', 'start with empty histories (fresh users train cheaper: the rate found is higher than the steady state sustains)')
    .action(async (o: { rate: number; factor: number; duration: number; maxRate: number; catalogue: number; growingCatalogue?: boolean; users: number; fill: boolean }) => {
      const generator = { users: o.users, catalogue: o.growingCatalogue ? undefined : o.catalogue, fillHistories: o.fill };
      const result = await benchLoad(loadConfig(), { rate: o.rate, factor: o.factor, durationS: o.duration, maxRate: o.maxRate, generator });
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
    .option('--no-fill', 'start with empty histories instead of filling every user\'s history first (they then fill during the soak)')
    .option('--warmup <minutes>', 'minutes left out of the slopes (default: 1 with the fill, else until every user\'s history is full)', intOption('--warmup', 0))
    .action(async (o: { minutes: number; rate: number; catalogue: number; growingCatalogue?: boolean; users: number; fill: boolean; warmup?: number }) => {
      const catalogue = o.growingCatalogue ? 'growing' : o.catalogue;
      const summary = await benchSoak(loadConfig(), { rate: o.rate, minutes: o.minutes, catalogue, users: o.users, fillHistories: o.fill, warmupMinutes: o.warmup }, (m) => process.stdout.write(`${JSON.stringify(m)}\n`));
      process.stdout.write(`${JSON.stringify({ summary })}\n`);
      if (summary.verdict !== 'flat') process.exitCode = 1;
    });
}
