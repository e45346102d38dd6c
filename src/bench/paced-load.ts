import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Config } from '../config/load.js';
import { EncoderWorker } from '../encoder/worker.js';
import type { TopicNames } from '../kafka/topics.js';
import { log } from '../ops/logger.js';
import { startTrainerRole, type TrainerRole } from '../trainer/role.js';
import { trainerGroup, type TrainerStats } from '../trainer/trainer.js';
import { benchPipeline } from './pipeline.js';
import { SyntheticTraffic } from './synthetic-traffic.js';
import { TrafficGenerator } from './traffic-generator.js';

/** What a paced-load bench (`load`, `soak`) drives and reads: the `learn run` roles in this process. */
export interface PacedPipeline {
  cfg: Config;
  topics: TopicNames;
  /** The trainer's counters (eventsTrained: the in-process view, no commit delay). */
  stats: TrainerStats;
  /** The trainer role itself (its model and vector publisher), for what a bench reports beside the counters. */
  role: TrainerRole;
  /** Event-loop delay of this process's main thread, where the pipeline runs (enabled; reset it per sample). */
  loop: IntervalHistogram;
  /** The traffic, from its own thread: `paced(rate, seconds)` yields each second produced, with the trainer group's lag read right after it. */
  generator: TrafficGenerator;
}

/** What the generator produces besides the rate, and where the pipeline starts. */
export interface GeneratorOptions {
  /** Users the events cycle over (round robin). */
  users: number;
  /**
   * Item ids the listings cycle over, all listed before the first event (the pipeline starts once they are
   * encoded); later listings re-list them. Undefined: every listing is a new item (the catalogue grows).
   */
  catalogue?: number;
  /**
   * Before `body`, send users x LEARN_HISTORY_LEN events at once and wait until they are trained, so every history
   * is full from the first paced second: the steady state, whose per-event work no longer grows.
   */
  fillHistories?: boolean;
}

/**
 * The steady state the load and soak benches run at by default: a fixed catalogue of 1,000 items and 500 users
 * whose histories fill after 25,000 events.
 */
export const STEADY_STATE = { users: 500, catalogue: 1000 } as const;

/** How long the start waits for the catalogue's content, and for the history fill to be trained. */
const START_TIMEOUT_MS = 30 * 60_000;

export const rssMiB = (): number => Math.round(process.memoryUsage.rss() / 1_048_576);
/** An event-loop delay histogram's percentile in ms, to 0.01. */
export const delayMs = (h: IntervalHistogram, p: number): number => Math.round(h.percentile(p) / 1e4) / 100;

/**
 * Resolves once `done()` holds, polling every 250 ms; logs progress every 10 s; fails after `timeoutMs`, or at once
 * when `broken()` names a failure (the trainer's).
 */
async function until(what: string, done: () => boolean, progress: () => object, broken: () => Error | undefined, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const l = log('bench.paced');
  const start = performance.now();
  let logged = start;
  while (!done()) {
    const err = broken();
    if (err) throw new Error(`bench: ${what} cannot finish: the trainer failed: ${err.message}`);
    if (performance.now() - start > timeoutMs) throw new Error(`bench: ${what} not done within ${timeoutMs / 1000} s (${JSON.stringify(progress())})`);
    if (performance.now() - logged > 10_000) {
      l.info(progress(), `waiting: ${what}`);
      logged = performance.now();
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Runs `body` against the encoder and the trainer (with its vector publisher) in this process, on fresh topics,
 * a fresh Redis prefix, state folder and consumer groups, with a traffic generator in its own thread; everything is
 * stopped and deleted afterwards. Commits follow checkpoints: a 1 s cadence makes the broker's lag a
 * second-by-second measure.
 */
export async function withPacedPipeline<T>(base: Config, label: string, body: (p: PacedPipeline) => Promise<T>, gen: GeneratorOptions): Promise<T> {
  if (gen.catalogue !== undefined && gen.catalogue > base.maxItems) {
    throw new Error(`bench: a catalogue of ${gen.catalogue} items exceeds LEARN_MAX_ITEMS (${base.maxItems}): the trainer could never hold it`);
  }
  new SyntheticTraffic({ label, run: 'check', users: gen.users, catalogue: gen.catalogue }); // validates the shape before anything starts
  const { run, cfg, topics, cleanup } = await benchPipeline(base, label, { checkpointEveryMs: 1000 });
  let encoder: EncoderWorker | undefined;
  let trainer: TrainerRole | undefined;
  let generator: TrafficGenerator | undefined;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  try {
    encoder = await EncoderWorker.start(cfg);
    generator = await TrafficGenerator.start(cfg, topics, { label, run, users: gen.users, catalogue: gen.catalogue }, trainerGroup(cfg));
    trainer = await startTrainerRole(cfg, {}, { exitOnFailure: false });
    const role = trainer;
    const g = generator;
    let trainerError: Error | undefined;
    void role.trainer.failure.then((err) => {
      trainerError = err;
    });
    const broken = () => trainerError;
    const listed = generator.listed();
    if (gen.catalogue !== undefined) await until('the catalogue encoded', () => role.trainer.model.content.size >= listed, () => ({ listed, contentItems: role.trainer.model.content.size }), broken);
    if (gen.fillHistories) {
      await g.burst(gen.users * cfg.historyLen);
      await until('the histories filled', () => role.trainer.stats.eventsTrained >= g.produced(), () => ({ produced: g.produced(), trained: role.trainer.stats.eventsTrained }), broken);
    }
    loop.enable();
    return await body({ cfg, topics, stats: trainer.trainer.stats, role: trainer, loop, generator });
  } finally {
    loop.disable();
    await generator?.stop();
    await trainer?.stop();
    await encoder?.stop();
    await cleanup();
  }
}
