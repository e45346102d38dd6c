import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { PROJECT_ROOT } from '../../config/paths.js';
import { LOO_METHODS, type LooMethodName } from '../../eval/loo-methods.js';
import { itemSpaceTable, looTable, runLoo } from '../../eval/loo-run.js';
import { log } from '../../ops/logger.js';
import { intOption } from '../options.js';

interface LooFlags {
  methods: string;
  seeds: string;
  maxEpochs: number;
  patience: number;
  out?: string;
}

function parseList<T extends string>(flag: string, raw: string, allowed: readonly T[]): T[] {
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const bad = names.filter((n) => !(allowed as readonly string[]).includes(n));
  if (bad.length > 0 || names.length === 0) throw new Error(`${flag}: expected a comma-separated subset of ${allowed.join(',')}, got "${raw}"`);
  return [...new Set(names)] as T[];
}

function parseSeeds(raw: string): number[] {
  const seeds = raw.split(',').map((s) => Number(s.trim()));
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s))) throw new Error(`--seeds: expected comma-separated integers, got "${raw}"`);
  return [...new Set(seeds)];
}

/** `learn eval loo DATASET`: the leave-one-out protocol (docs/results.md). */
export function registerEval(program: Command): void {
  const evalCmd = program.command('eval').description('offline evaluation protocols');
  evalCmd
    .command('loo <dataset>')
    .description(
      "leave-one-out: train on each user's items but the last two, pick the epoch (and score-time point) on the next-to-last, test on the last; full ranking over every item; Recall@10/20, NDCG@10/20 as JSON and a table. DATASET: a folder of RecBole/UniSRec sequence files, or any data set `learn data stats` reads (each user's events in time order)",
    )
    .option('--methods <list>', `comma-separated: ${LOO_METHODS.join(',')}`, LOO_METHODS.join(','))
    .option('--seeds <list>', 'comma-separated seeds; mean and spread over them', '1')
    .option('--max-epochs <n>', 'epochs at most for each learned method', intOption('--max-epochs'), 20)
    .option('--patience <n>', 'stop a learned method after this many epochs without a better validation NDCG@10', intOption('--patience'), 3)
    .option('--out <file>', 'write the JSON report here (default LEARN_REPORTS_DIR/loo-<time>.json)')
    .action(async (dataset: string, o: LooFlags) => {
      const cfg = loadConfig();
      const l = log('eval.loo');
      const report = await runLoo(cfg, {
        dataset,
        methods: parseList('--methods', o.methods, LOO_METHODS) as LooMethodName[],
        seeds: parseSeeds(o.seeds),
        maxEpochs: o.maxEpochs,
        patience: o.patience,
        onProgress: (p) => l.info(p, 'stage'),
      });
      const out = o.out ? resolve(o.out) : join(resolve(PROJECT_ROOT, cfg.reportsDir), `loo-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      mkdirSync(resolve(out, '..'), { recursive: true });
      writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
      process.stdout.write(`${looTable(report)}\n\n${itemSpaceTable(report)}\n\nusers ${report.users}, items ${report.items}, seeds ${report.seeds.join(',')}, ${report.seconds.total} s\nreport: ${out}\n`);
    });
}
