import type { Command } from 'commander';
import { benchFreshness } from '../../bench/freshness.js';
import { benchScale } from '../../bench/scale.js';
import { benchServe } from '../../bench/serve.js';
import { loadConfig } from '../../config/load.js';
import { intOption, subgroup } from '../options.js';

/** Benchmarks of the whole pipeline (the per-component ones sit with their components). */
export function registerPipelineBench(program: Command): void {
  subgroup(program, 'bench', 'benchmarks that print JSON')
    .command('freshness')
    .description("listing sent -> item vector in Redis, a new user's first event sent -> that user's vector in Redis (p50/p99), through the real broker and Redis")
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
  subgroup(program, 'bench', 'benchmarks that print JSON')
    .command('serve')
    .description('requests/s and p50/p99 of `learn serve` (a real process on real Redis) under autocannon at each catalogue size, exact scan vs HNSW, and the HNSW recall@10 (needs `learn stack up`)')
    .option('--items <list>', 'comma-separated catalogue sizes', '10000,100000,500000')
    .option('--users <n>', 'users with a vector (the requests cycle through them)', intOption('--users'), 1000)
    .option('--dim <n>', 'vector width (LEARN_PAL_OUT_DIM)', intOption('--dim'), 64)
    .option('--connections <n>', 'concurrent connections of the load', intOption('--connections'), 10)
    .option('--duration <s>', 'seconds of load per size and mode', intOption('--duration'), 10)
    .option('--recall-queries <n>', 'users asked of both modes for recall@10', intOption('--recall-queries'), 200)
    .option('--seed <n>', 'seed of the vectors', intOption('--seed', 0), 1)
    .action(async (o: { items: string; users: number; dim: number; connections: number; duration: number; recallQueries: number; seed: number }) => {
      const items = o.items.split(',').map((x) => Number(x.trim()));
      if (items.some((n) => !Number.isInteger(n) || n < 10)) throw new Error(`--items: expected comma-separated integers of at least 10, got "${o.items}"`);
      const result = await benchServe(loadConfig(), { items, users: o.users, dim: o.dim, connections: o.connections, durationS: o.duration, recallQueries: o.recallQueries, seed: o.seed });
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    });
}
