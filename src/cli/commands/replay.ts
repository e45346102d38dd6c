import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import { compareRuns, readPerUser } from '../../replay/compare.js';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config/load.js';
import { log } from '../../ops/logger.js';
import { UPDATE_MODES, type UpdateMode } from '../../replay/in-process.js';
import { METHODS, newRunId, operatingPointFrom, operatingPointsTable, parseMethods, reportDir, runReplay, screenshotReport, summaryTable, writeReport, type MethodName, type ReplayOptions, type ReplayProgress, type ReplayReport, type WrittenReport } from '../../replay/index.js';

export interface ReplayCliOptions {
  speed: string;
  limit?: string;
  methods: string;
  inProcess?: boolean;
  prior?: string;
  contentWeight?: string;
  grid?: boolean;
  warmStart?: string;
  epochs: string;
  updates: string;
  idThread: boolean;
  out?: string;
  keepTopics?: boolean;
  keepRanks?: boolean;
}

/** `learn replay DATASET`: event-replay evaluation of LEARN and its baselines -> reports/RUN/{metrics.json,index.html}. */
export function registerReplay(program: Command): void {
  const cmd = program
    .command('replay <dataset>')
    .description('event-replay evaluation (test-then-train) of LEARN and baselines through the real pipeline; writes metrics.json and index.html');
  withReplayRunOptions(cmd, 'replay only the first N events')
    .option('--out <dir>', 'report folder (default LEARN_REPORTS_DIR/<run>)')
    .option('--keep-topics', 'keep the run\'s replay.<run>.* topics afterwards')
    .option('--keep-ranks', "keep every event's rank per method in metrics.json (`ranks`): to check that two runs rank alike, event by event")
    .action(async (dataset: string, o: ReplayCliOptions) => {
      const { report, written } = await replayWithProgress(loadConfig(), dataset, o);
      const points = operatingPointsTable(report);
      const t = report.timings;
      const idTrain = t.idThread ? `(SASRec-like training ${t.idTrain}, in its own thread, beside these)` : `+ SASRec-like training ${t.idTrain}`;
      process.stdout.write(`time: ${report.wallSeconds} s wall = encode ${t.encode} + LEARN training ${t.train} ${idTrain} + scoring ${t.score} + Kafka I/O and waiting ${t.other} (s)\n`);
      process.stdout.write(`${summaryTable(report)}\n${points ? `\noperating points (best overall first):\n${points}\n` : ''}\nreport: ${written.html}\nmetrics: ${written.json}\n`);
    });
}

/** `learn compare A B`: paired difference of two replays' reports (or two methods of one), bootstrap CI over users. */
export function registerCompare(program: Command): void {
  program
    .command('compare <a> <b>')
    .description("paired comparison of two replay reports (run folders or their metrics.json): b - a in Recall@10, NDCG@10 and cold-item Recall@10, 95% bootstrap interval over users; JSON")
    .option('--method <m>', 'method of report a', 'learn')
    .option('--method-b <m>', 'method of report b (default: the same as --method)')
    .option('--iterations <n>', 'bootstrap resamples', '2000')
    .action((a: string, b: string, o: { method: string; methodB?: string; iterations: string }) => {
      const n = Number(o.iterations);
      if (!Number.isInteger(n) || n < 100) throw new Error(`--iterations must be an integer >= 100, got ${o.iterations}`);
      const result = compareRuns(readPerUser(a, o.method), readPerUser(b, o.methodB ?? o.method), n);
      process.stdout.write(`${JSON.stringify({ a: { report: a, method: o.method }, b: { report: b, method: o.methodB ?? o.method }, ...result }, null, 2)}\n`);
    });
}

/** --speed, --limit and --methods: what `replay` and `demo` share. */
export function withReplayRunOptions(cmd: Command, limitHelp: string, limitDefault?: string): Command {
  return cmd
    .option('--speed <x>', 'replay speed as a multiple of real time; 0 = as fast as possible', '0')
    .option('--limit <n>', `${limitHelp}; "all" for every event`, limitDefault)
    .option('--methods <list>', `comma-separated methods: ${METHODS.join(',')}`, METHODS.join(','))
    .option('--in-process', 'replay without Kafka: the same model, windows and evaluator fed from the data set (fast experiments)')
    .option('--prior <beta>', 'score-time popularity prior for every history-based method: score + beta * log(1 + decayed popularity) / log(1 + its largest value) (default LEARN_REPLAY_PRIOR)')
    .option('--content-weight <gamma>', "LEARN's content term: + gamma * the frozen content's cosine of the user's history and the item, the cold-start knob (default LEARN_REPLAY_CONTENT_WEIGHT)")
    .option('--grid', 'also rank every event under a grid of priors and content weights: the trade-off curves in the report')
    .option('--warm-start <fraction>', 'warm-start protocol (with --in-process): the first fraction of the events pretrains every learned method, unscored; the rest is evaluated')
    .option('--epochs <n>', 'warm-start epochs over the prefix (shuffled windows), the same for every method', '3')
    .option('--updates <mode>', `after go-live (with --in-process): ${UPDATE_MODES.join(' | ')}`, 'online')
    .option('--no-id-thread', 'with --in-process: run the SASRec-like model on the main thread (default: its own worker thread, so the replay uses two cores; the numbers are the same)');
}

/** `--limit`: a positive integer, or undefined for every event (unset or "all"). */
export function parseLimit(raw: string | undefined): number | undefined {
  const limit = raw === undefined || raw === 'all' ? undefined : Number(raw);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new Error(`--limit must be a positive integer or "all", got ${raw}`);
  return limit;
}

/** Parses the CLI options, runs the replay with progress bars on stderr, writes the report and a screenshot. */
export async function replayWithProgress(
  cfg: Config,
  dataset: string,
  o: ReplayCliOptions,
  extra: Pick<ReplayOptions, 'onFinished' | 'run'> = {},
): Promise<{ report: ReplayReport; written: WrittenReport; screenshot: string | undefined }> {
  const speed = Number(o.speed);
  if (!Number.isFinite(speed) || speed < 0) throw new Error(`--speed must be a number >= 0, got ${o.speed}`);
  const limit = parseLimit(o.limit);
  const beta = Number(o.prior ?? cfg.replayPrior);
  if (!Number.isFinite(beta) || beta < 0) throw new Error(`--prior must be a number >= 0, got ${o.prior}`);
  const contentWeight = Number(o.contentWeight ?? cfg.replayContentWeight);
  if (!Number.isFinite(contentWeight) || contentWeight < 0) throw new Error(`--content-weight must be a number >= 0, got ${o.contentWeight}`);
  const warmStart = o.warmStart === undefined ? undefined : { fraction: Number(o.warmStart), epochs: Number(o.epochs) };
  if (warmStart && !(warmStart.fraction > 0 && warmStart.fraction < 1)) throw new Error(`--warm-start must be a fraction in (0, 1), got ${o.warmStart}`);
  if (warmStart && !(Number.isInteger(warmStart.epochs) && warmStart.epochs >= 0)) throw new Error(`--epochs must be an integer >= 0, got ${o.epochs}`);
  if (!(UPDATE_MODES as readonly string[]).includes(o.updates)) throw new Error(`--updates must be one of ${UPDATE_MODES.join(', ')}, got ${o.updates}`);
  const run = extra.run ?? newRunId();
  const bars = progressBars();
  let report: ReplayReport;
  try {
    report = await runReplay(cfg, {
      dataset,
      speed,
      ...(limit !== undefined ? { limit } : {}),
      methods: parseMethods(o.methods),
      ...(o.inProcess ? { inProcess: true } : {}),
      operatingPoint: operatingPointFrom(cfg, { beta, contentWeight }),
      ...(warmStart ? { warmStart } : {}),
      updates: o.updates as UpdateMode,
      ...(o.idThread ? {} : { idThread: false }),
      ...(o.grid ? { grid: true } : {}),
      run,
      onProgress: bars.update,
      ...(o.keepTopics ? { keepTopics: true } : {}),
      ...(o.keepRanks ? { keepRanks: true } : {}),
      ...extra,
    });
  } finally {
    bars.stop();
  }
  const written = writeReport(report, reportDir(cfg, run, o.out));
  const screenshot = screenshotReport(written.dir);
  return { report, written, screenshot };
}

/** cli-progress bars on a terminal; a log line every 5 s otherwise (CI, files). */
export function progressBars(stream: NodeJS.WriteStream = process.stderr): { update: (p: ReplayProgress) => void; stop: () => void } {
  if (!stream.isTTY) {
    const l = log('replay.progress');
    let last = 0;
    return {
      update: (p) => {
        if (Date.now() - last < 5_000) return;
        last = Date.now();
        l.info(p, 'replay progress');
      },
      stop: () => {},
    };
  }
  const multi = new cliProgress.MultiBar(
    { stream, hideCursor: true, clearOnComplete: false, format: '{name} [{bar}] {percentage}% | {value}/{total} {extra}' },
    cliProgress.Presets.shades_classic,
  );
  let made: Record<'produced' | 'encoded' | 'trained', cliProgress.SingleBar> | undefined;
  return {
    update: (p) => {
      made ??= {
        produced: multi.create(p.events, 0, { name: 'events produced', extra: '' }),
        encoded: multi.create(p.listings, 0, { name: 'items encoded  ', extra: '' }),
        trained: multi.create(p.events, 0, { name: 'events trained ', extra: '' }),
      };
      made.produced.update(p.eventsProduced, { extra: `(+${p.listingsProduced} listings)` });
      made.encoded.update(p.itemsEncoded, { extra: '' });
      made.trained.update(p.eventsTrained, { extra: `| loss ${p.loss.toFixed(3)} | lag ${p.lag} | dlq ${p.deadLetteredEvents}` });
    },
    stop: () => multi.stop(),
  };
}
