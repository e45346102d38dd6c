import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { dataDirFrom, fetchMl100k, loadDataset, ML100K, type DatasetRecord } from '../../data/index.js';
import { fetchEncoderModel, modelsDirFrom } from '../../encoder/index.js';
import { createKafka } from '../../kafka/client.js';
import { applyTopics, loadTopicSpecs } from '../../kafka/topics.js';
import { join } from 'node:path';
import { logToFile } from '../../ops/logger.js';
import { newRunId, reportDir, scoreRows, summaryTable } from '../../replay/index.js';
import { DAY_MS } from '../../config/constants.js';
import { DecayedPopularity } from '../../popularity/index.js';
import { topKInnerProduct } from '../../serve/top-k.js';
import { stackUp } from '../../stack/stack.js';
import type { OnlineModel } from '../../learner/online-model.js';
import { parseLimit, replayWithProgress, withReplayRunOptions, type ReplayCliOptions } from './replay.js';

type DemoOptions = ReplayCliOptions;

/** Events the demo replays unless told otherwise: those of the README's headline table. */
export const DEMO_EVENTS = 20_000;

/** What the demo shows after the replay, computed from the trainer's final weights before it stops. */
interface Showcase {
  user: string;
  history: string[];
  recommendations: Array<{ item: string; score: number }>;
  /** The user's scores over the whole catalogue: the top 10 read against them. */
  userScores: ScoreSpread;
  freshItem: string;
  neighbours: Array<{ item: string; score: number }>;
}

interface ScoreSpread {
  min: number;
  median: number;
  max: number;
}

/** The README's first command: from a fresh clone to a full replay of ML-100K with a report. */
export function registerDemo(program: Command): void {
  const cmd = program
    .command('demo')
    .description('the main job: stack up, topics, model and data fetched, ML-100K replay (the README headline\'s first 20,000 events; --limit all for every event) with baselines, summary, report, example recommendations');
  // The README's headline is the first 20,000 events: the demo reproduces its seed-1 row (LEARN_SEED, default 1).
  withReplayRunOptions(cmd, 'replay only the first N events (the README headline\'s 20,000 by default)', String(DEMO_EVENTS))
    .action(async (o: DemoOptions) => {
      const cfg = loadConfig();
      const say = (s: string): void => void process.stdout.write(`${s}\n`);
      const run = newRunId();
      // A person at a terminal sees the steps, the progress bars and the summary; the logs go to the run's report
      // folder (warnings and errors still show, one readable line each). Not a terminal: JSON logs on stderr as before.
      if (process.stderr.isTTY) {
        const logFile = join(reportDir(cfg, run, o.out), 'demo.log');
        logToFile(logFile);
        say(`logs: ${logFile}`);
      }
      for (const s of await stackUp(cfg)) say(`${s.service}: ${s.state} at ${s.address}`);
      const admin = createKafka(cfg, 'admin').admin();
      await admin.connect();
      try {
        for (const r of await applyTopics(admin, loadTopicSpecs())) say(`topic ${r.name}: ${r.action}`);
      } finally {
        await admin.disconnect();
      }
      const model = await fetchEncoderModel(cfg.encoderModel, { modelsDir: modelsDirFrom(cfg), verify: false, python: cfg.pythonBin });
      say(`model: ${cfg.encoderModel} (${model.dir})`);
      await fetchMl100k({ dataDir: dataDirFrom(cfg), python: cfg.pythonBin });
      say(`data: ${ML100K} in ${dataDirFrom(cfg)}`);
      say(`replay: ${parseLimit(o.limit) ? `first ${o.limit} events` : 'every event'} at ${o.speed === '0' ? 'full speed' : `${o.speed}x`}; progress on stderr`);

      const records = await loadDataset(ML100K, cfg);
      const titles = new Map(records.flatMap((r) => (r.kind === 'listing' ? [[r.value.item_id, r.value.title] as const] : [])));
      let showcase: Showcase | undefined;
      const { report, written, screenshot } = await replayWithProgress(cfg, ML100K, o, {
        run,
        onFinished: (model) => {
          showcase = showcaseOf(model, records, { limit: parseLimit(o.limit), prior: cfg.servePrior, halfLifeMs: cfg.popularityHalfLifeDays * DAY_MS });
        },
      });
      say('');
      say(summaryTable(report));
      say(`\n${report.eventsTrained} events trained in ${report.wallSeconds} s; report: ${written.html}${screenshot ? ` (screenshot ${screenshot})` : ''}`);
      if (showcase) printShowcase(say, showcase, titles);
      printNextSteps(say, parseLimit(o.limit));
    });
}

/**
 * Recommendations for the user of the stream's last event (inner product + the served popularity prior) and the
 * nearest neighbours of the most recently listed item (inner product), over the final LEARN item vectors. Computed in-process with the read path's top-K
 * (src/serve/top-k.ts): the replay trains on its own topics and does not publish to Redis.
 */
function showcaseOf(model: OnlineModel, records: readonly DatasetRecord[], serving: { limit: number | undefined; prior: number; halfLifeMs: number }): Showcase | undefined {
  const ids = [...model.content.ids()];
  if (ids.length === 0) return undefined;
  const dOut = model.config.outDim;
  const items = model.itemMatrix(ids);
  // The served prior (LEARN_SERVE_PRIOR) over the replayed events, as the store would have counted them.
  const replayed = records.filter((r) => r.kind === 'event').slice(0, serving.limit);
  const popularity = new DecayedPopularity(serving.halfLifeMs);
  for (const r of replayed) if (r.kind === 'event') popularity.add(r.value.item_id, r.value.ts);
  const last = replayed.at(-1);
  const priors = popularity.priors(ids, last?.kind === 'event' ? last.value.ts : 0);
  const prior = priors.map((p) => p * serving.prior);
  const lastEvent = [...replayed].reverse().find((r) => r.kind === 'event' && model.history(r.value.user_id));
  const freshListing = [...records].reverse().find((r) => r.kind === 'listing' && model.content.has(r.value.item_id));
  if (!lastEvent || lastEvent.kind !== 'event' || !freshListing || freshListing.kind !== 'listing') return undefined;
  const user = lastEvent.value.user_id;
  const history = model.history(user)?.items.filter((id) => model.content.has(id)) ?? [];
  const seen = new Set(history);
  const uv = model.userVectors([user]).get(user) as Float32Array;
  const recs = topKInnerProduct(items, ids.length, dOut, uv, 10, (row) => seen.has(ids[row] as string), prior);
  const all = scoreRows(items, ids.length, dOut, uv).map((s, row) => s + (prior[row] as number)).sort();
  const freshItem = freshListing.value.item_id;
  const fi = ids.indexOf(freshItem);
  const query = items.slice(fi * dOut, (fi + 1) * dOut);
  const nn = topKInnerProduct(items, ids.length, dOut, query, 10, (row) => row === fi);
  return {
    user,
    history: history.slice(-5),
    recommendations: recs.map((s) => ({ item: ids[s.index] as string, score: s.score })),
    userScores: { min: all[0] as number, median: all[all.length >> 1] as number, max: all[all.length - 1] as number },
    freshItem,
    neighbours: nn.map((s) => ({ item: ids[s.index] as string, score: s.score })),
  };
}

function printShowcase(say: (s: string) => void, s: Showcase, titles: ReadonlyMap<string, string>): void {
  const name = (id: string): string => `${id} ${titles.get(id) ?? ''}`.trim();
  say(`\nTop 10 for user ${s.user} (what learn serve answers: LEARN vectors' inner product + LEARN_SERVE_PRIOR x the popularity prior, seen items excluded; computed in-process):`);
  say(`  recent history: ${s.history.map(name).join(' | ')}`);
  s.recommendations.forEach((r, i) => say(`  ${String(i + 1).padStart(2)}. ${r.score.toFixed(4)}  ${name(r.item)}`));
  const u = s.userScores;
  say(`  (scores: cosine + prior; over the whole catalogue this user's run from ${u.min.toFixed(4)} to ${u.max.toFixed(4)}, median ${u.median.toFixed(4)})`);
  say(`\nNearest neighbours of the most recently listed item, ${name(s.freshItem)}:`);
  s.neighbours.forEach((r, i) => say(`  ${String(i + 1).padStart(2)}. ${r.score.toFixed(4)}  ${name(r.item)}`));
}

/** The demo ranks in-process and leaves no model in Redis: what to run to train, serve and query one. */
function printNextSteps(say: (s: string) => void, limit: number | undefined): void {
  say('\nNext, to query a model (the replay above ranked in-process; nothing is in Redis yet), in three terminals:');
  say(`  learn data produce ${ML100K}${limit ? ` --limit ${limit}` : ''}   # the events into the learn.* topics`);
  say('  learn run                          # encoder + trainer: trains and publishes vectors to Redis');
  say('  learn serve                        # the HTTP read path; or ask once: learn recommend --user <user_id>');
}
