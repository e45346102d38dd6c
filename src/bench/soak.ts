import type { Config } from '../config/load.js';
import { liveTensors, wasmHeapBytes } from '../model/index.js';
import { log } from '../ops/logger.js';
import { delayMs, rssMiB, STEADY_STATE, withPacedPipeline, type PacedPipeline } from './paced-load.js';
import { leastSquares } from './slope.js';

/** One minute of a soak: what `learn bench soak` prints as a JSON line. */
export interface SoakMinute {
  /** The minute's number: 60 paced seconds of production each. */
  minute: number;
  /** Wall-clock seconds since the soak began, on the generator thread's clock (past 60 x minute only if its sends fall behind). */
  elapsedS: number;
  /** Events produced in this minute and in all since the first minute began (acknowledged by the broker; the history fill before it not counted). */
  producedInMinute: number;
  produced: number;
  /** Events trained since the first minute began (in-process count). */
  trained: number;
  /** Trainer group lag on the broker (end minus committed offsets, summed over partitions): median and max of the minute's samples. */
  lag: number;
  lagMax: number;
  /** Produced by the minute's end and not trained when the pipeline's thread read the sample (a lower bound: it may read late). */
  untrained: number;
  rssMiB: number;
  /** Where RSS goes: the JS heap, buffers outside it (Kafka, Redis, checkpoints), the wasm backend's linear memory (only grows). */
  heapUsedMiB: number;
  externalMiB: number;
  wasmHeapMiB: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Live tensors of the tfjs engine the trainer uses (tf.memory()): a count that grows at a fixed catalogue is a leak. */
  tensors: number;
  tensorMiB: number;
  /** Items in the trainer's content table (the catalogue the version builds and negatives read) and users it keeps histories of. */
  contentItems: number;
  usersKept: number;
  /** Summed history length over the users kept: what a version build's user pass costs (it grows until every history holds LEARN_HISTORY_LEN items). */
  historyItems: number;
  /** The last vector version published and how long its build took (begin to switch); 0 before the first. */
  lastBuildVersion: number;
  lastBuildMs: number;
}

export interface SoakSummary {
  rate: number;
  /** The generator: users cycled over, and the catalogue (a fixed number of item ids, or growing by rate/100 a second). */
  users: number;
  catalogue: number | 'growing';
  /** Whether every user's history was filled before the first minute (the steady state from the start). */
  filledHistories: boolean;
  /** Minutes left out of the fit (start-up and, without the fill, the filling of the users' histories). */
  warmupMinutes: number;
  /** Events produced per wall-clock second over the whole soak. */
  achievedRate: number;
  minutes: number;
  /** Elapsed wall-clock minutes of the minutes the slopes are fitted over: all but the first (start-up: JIT, model load, first checkpoints) when there are three or more. */
  fittedMinutes: number[];
  slopes: { rssMiBPerMinute: number; lagPerMinute: number; loopDelayP99MsPerMinute: number; untrainedPerMinute: number };
  rssFlat: boolean;
  lagFlat: boolean;
  verdict: 'flat' | 'growing';
  definition: string;
}

export interface SoakOptions {
  /** Events per second. */
  rate: number;
  minutes: number;
  /** Seconds between lag samples. */
  lagEveryS?: number;
  /** Users the events cycle over (default SOAK_DEFAULT_USERS). */
  users?: number;
  /** Item ids the listings cycle over (default SOAK_DEFAULT_CATALOGUE); 'growing': every listing a new item. */
  catalogue?: number | 'growing';
  /** Fill every user's history before the first minute (default true; withPacedPipeline's fillHistories). */
  fillHistories?: boolean;
  /** Minutes left out of the fit (default: 1 with the fill, else soakWarmupMinutes). */
  warmupMinutes?: number;
}

/** Half the highest flat rate of `learn bench load` (57 events/s at full histories) on the project's 2-core machine (docs/benchmarks.md, "Soak"). */
export const SOAK_DEFAULT_RATE = 28;
/**
 * The steady state: a fixed catalogue (listings re-list existing ids) and few enough users that every history holds
 * LEARN_HISTORY_LEN items after a few minutes. Memory and build times that grow then are defects; with a growing
 * catalogue or histories still filling they grow by design (bounded by LEARN_MAX_ITEMS and LEARN_HISTORY_LEN).
 */
export const SOAK_DEFAULT_CATALOGUE = STEADY_STATE.catalogue;
export const SOAK_DEFAULT_USERS = STEADY_STATE.users;

/**
 * Minutes before the fit: the first (start-up: JIT, model load, first checkpoints) and those in which the users'
 * histories (round robin, `historyLen` items each) are still filling, since each window's and each build's work
 * grows with history length until then.
 */
export function soakWarmupMinutes(rate: number, users: number, historyLen: number): number {
  return Math.max(1, Math.ceil((users * historyLen) / (rate * 60)));
}

/** RSS may grow by this share of its median over the fitted minutes, lag by one second of production (max(50, rate)). */
const RSS_GROWTH_SHARE = 0.05;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The slopes (least squares per minute) and the verdict of a soak's minutes. */
export function soakSummary(
  rate: number,
  minutes: readonly SoakMinute[],
  gen: { users: number; catalogue: number | 'growing'; filledHistories: boolean; warmupMinutes: number } = { users: SOAK_DEFAULT_USERS, catalogue: SOAK_DEFAULT_CATALOGUE, filledHistories: true, warmupMinutes: 1 },
): SoakSummary {
  // At least two minutes to fit: a shorter soak is fitted over all its minutes.
  const fitted = minutes.length - gen.warmupMinutes >= 2 ? minutes.slice(gen.warmupMinutes) : [...minutes];
  // Per wall-clock minute: a generator that falls behind stretches a minute.
  const xs = fitted.map((m) => round(m.elapsedS / 60));
  const slopeOf = (pick: (m: SoakMinute) => number) => round(leastSquares(xs, fitted.map(pick)).slope);
  const slopes = {
    rssMiBPerMinute: slopeOf((m) => m.rssMiB),
    lagPerMinute: slopeOf((m) => m.lag),
    loopDelayP99MsPerMinute: slopeOf((m) => m.loopDelayP99Ms),
    untrainedPerMinute: slopeOf((m) => m.untrained),
  };
  const span = xs.length > 1 ? xs.at(-1)! - xs[0]! : 0;
  // A NaN slope (one fitted minute) says nothing: not flat.
  const rssFlat = slopes.rssMiBPerMinute * span <= RSS_GROWTH_SHARE * median(fitted.map((m) => m.rssMiB));
  const lagFlat = slopes.lagPerMinute * span <= Math.max(50, rate);
  const last = minutes.at(-1);
  return {
    rate,
    ...gen,
    achievedRate: last ? round(last.produced / last.elapsedS, 1) : 0,
    minutes: minutes.length,
    fittedMinutes: xs,
    slopes,
    rssFlat,
    lagFlat,
    verdict: rssFlat && lagFlat ? 'flat' : 'growing',
    definition: `least-squares slopes per wall-clock minute over the minutes after the first ${gen.warmupMinutes} (elapsed ${xs[0] ?? '-'}-${xs.at(-1) ?? '-'} min); RSS flat when its fitted growth over them is at most ${RSS_GROWTH_SHARE * 100}% of its median, lag flat when its fitted growth is at most max(50, rate) messages (one second of production)`,
  };
}

/**
 * `learn bench soak`: the `learn run` roles in this process on a private pipeline, fed at a flat `rate` for
 * `minutes` by the load bench's generator in its own thread; hands each minute's sample to `onMinute` and returns
 * the slopes and the verdict.
 */
export async function benchSoak(base: Config, o: SoakOptions, onMinute: (m: SoakMinute) => void): Promise<SoakSummary> {
  const l = log('bench.soak');
  const lagEveryS = o.lagEveryS ?? 5;
  const users = o.users ?? SOAK_DEFAULT_USERS;
  const catalogue = o.catalogue ?? SOAK_DEFAULT_CATALOGUE;
  const filledHistories = o.fillHistories ?? true;
  const warmupMinutes = o.warmupMinutes ?? (filledHistories ? 1 : soakWarmupMinutes(o.rate, users, base.historyLen));
  const gen = { users, catalogue, filledHistories, warmupMinutes };
  return withPacedPipeline(base, 'soak', async (p) => {
    const minutes: SoakMinute[] = [];
    const producedBefore = p.generator.produced();
    const trainedBefore = p.stats.eventsTrained;
    let lags: number[] = [];
    let producedInMinute = 0;
    for await (const tick of p.generator.paced(o.rate, o.minutes * 60)) {
      producedInMinute += tick.events;
      if (tick.second % lagEveryS === 0) lags.push(tick.lag);
      if (tick.second % 60 !== 0) continue;
      const mem = process.memoryUsage();
      const produced = tick.produced - producedBefore;
      const trained = p.stats.eventsTrained - trainedBefore;
      const m: SoakMinute = {
        minute: tick.second / 60,
        elapsedS: Math.round(tick.elapsedMs / 1000),
        producedInMinute,
        produced,
        trained,
        lag: median(lags),
        lagMax: Math.max(...lags),
        untrained: produced - trained,
        rssMiB: rssMiB(),
        heapUsedMiB: Math.round(mem.heapUsed / 1_048_576),
        externalMiB: Math.round(mem.external / 1_048_576),
        wasmHeapMiB: Math.round(wasmHeapBytes() / 1_048_576),
        loopDelayP99Ms: delayMs(p.loop, 99),
        loopDelayMaxMs: Math.round(p.loop.max / 1e4) / 100,
        ...modelSample(p),
      };
      minutes.push(m);
      onMinute(m);
      l.debug(m, 'soak minute');
      p.loop.reset();
      lags = [];
      producedInMinute = 0;
    }
    return soakSummary(o.rate, minutes, gen);
  }, { users, catalogue: catalogue === 'growing' ? undefined : catalogue, fillHistories: filledHistories });
}

/** What the trainer holds now: live tensors, catalogue and users, and the last version build. */
function modelSample(p: PacedPipeline): Pick<SoakMinute, 'tensors' | 'tensorMiB' | 'contentItems' | 'usersKept' | 'historyItems' | 'lastBuildVersion' | 'lastBuildMs'> {
  const t = liveTensors();
  const model = p.role.trainer.model;
  let historyItems = 0;
  for (const u of model.recentUsers(model.users)) historyItems += model.history(u)?.items.length ?? 0;
  const build = p.role.publisher?.lastBuild;
  return {
    tensors: t.numTensors,
    tensorMiB: round(t.numBytes / 1_048_576),
    contentItems: model.content.size,
    usersKept: model.users,
    historyItems,
    lastBuildVersion: build?.version ?? 0,
    lastBuildMs: build?.ms ?? 0,
  };
}
