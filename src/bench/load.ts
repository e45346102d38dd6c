import type { Config } from '../config/load.js';
import { log } from '../ops/logger.js';
import { FreshnessProbe, ProbeTimeout } from './freshness-probe.js';
import { ProbeStages, type ProbeSplit } from './probe-stages.js';
import { delayMs, rssMiB, STEADY_STATE, withPacedPipeline, type GeneratorOptions } from './paced-load.js';
import { summarise, type LatencySummary } from './percentiles.js';
import { WindowTally, type WindowFigures } from './step-figures.js';

/** One second of a load step. */
export interface LoadSample {
  /** Seconds since the step began. */
  s: number;
  /** Events produced (acknowledged) in that second. */
  produced: number;
  /** Trainer group lag on the broker (end offsets minus committed offsets, summed over partitions), read by the generator thread right after the second's sends. */
  lag: number;
  /** Events produced by that second's end and not trained when the pipeline's thread read the sample (it may read it late: a lower bound). */
  untrained: number;
  rssMiB: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

export interface LoadStep {
  rate: number;
  durationS: number;
  produced: number;
  /** Produced events per second actually achieved (the generator may fall short of the target). */
  achievedRate: number;
  /** Lag after the warm-up seconds and at the end of the step (medians of a few samples). */
  lagAfterWarmup: number;
  lagAtEnd: number;
  toleranceMessages: number;
  flat: boolean;
  /** The windows trained during the step: their count, mean events per step and mean ms from cut to weights in use. */
  training: WindowFigures;
  /** Event-loop delay: the median and the worst of the per-second p99s (ms). */
  loopDelayP99Ms: { median: number; worst: number };
  /**
   * End to end under the step's load, from the send to the vector readable in Redis (`FreshnessProbe`): about once a
   * second a new listing -> its item vector, then a new user's event on it -> that user's vector. `timedOut`: probes
   * whose vector had not come PROBE_TIMEOUT_MS after the send (left out of the figures: a lower bound then).
   */
  freshness: {
    eventToUserVector: LatencySummary;
    listingToItemVector: LatencySummary;
    timedOut: number;
    /** The same probes split where the trainer takes the record in (ProbeStages): what stands in the way. */
    stages: { event: ProbeSplit; listing: ProbeSplit };
  };
  series: LoadSample[];
}

export interface LoadBench {
  definition: string;
  /** The users, catalogue ('growing': a new item per listing) and start the rates were measured at. */
  generator: { users: number; catalogue: number | 'growing'; fillHistories: boolean };
  rates: number[];
  highestFlatRate: number | null;
  windowMs: number;
  batchUsers: number;
  checkpointEveryMs: number;
  steps: LoadStep[];
}

export interface LoadOptions {
  /** First target rate, events per second. */
  rate: number;
  /** Seconds per step. */
  durationS: number;
  /** The search stops after this rate (or at the first step whose lag is not flat). */
  maxRate: number;
  /** Rate multiplier between steps (default 1.5). */
  factor?: number;
  /** The generator and the start (default: the steady state, LOAD_DEFAULT_GENERATOR). */
  generator?: GeneratorOptions;
}

/**
 * The steady state the load is measured at: a fixed catalogue of 1,000 items, 500 users whose histories are full
 * from the first step (a fresh user's short history trains several times cheaper, so an empty start overstates
 * what the pipeline sustains).
 */
export const LOAD_DEFAULT_GENERATOR: Required<GeneratorOptions> = { ...STEADY_STATE, fillHistories: true };

const WARMUP_S = 3;
/** How often the freshness probe starts (a listing, then an event on it), and how long it waits for either vector. */
const PROBE_EVERY_MS = 1000;
const PROBE_TIMEOUT_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/**
 * `learn bench load`: the `learn run` roles in this process on a private pipeline (`withPacedPipeline`); a paced
 * generator in its own thread produces UserEvents (and a listing now and then) at a target rate for D seconds per
 * step, rates growing by `factor`; every second it samples the trainer's lag, RSS and event-loop delay. A step is
 * flat when the lag at its end is at most the lag after the warm-up plus one second of production (the window and
 * the 1 s checkpoint cadence hold about that much). The search ends at the first step that is not flat, or past
 * `maxRate`.
 */
export async function benchLoad(base: Config, o: LoadOptions): Promise<LoadBench> {
  const l = log('bench.load');
  const generator = o.generator ?? LOAD_DEFAULT_GENERATOR;
  return withPacedPipeline(base, 'load', async (p) => {
    const steps: LoadStep[] = [];
    const rates: number[] = [];
    const probe = await FreshnessProbe.open(p.cfg, p.topics, { prefix: 'probe', timeoutMs: PROBE_TIMEOUT_MS });
    const stages = new ProbeStages(p.role.trainer, (id) => id.startsWith('probe-'));
    try {
      let listed = 0;
      for (let rate = o.rate; rate <= o.maxRate; rate = Math.ceil(rate * (o.factor ?? 1.5))) {
        rates.push(rate);
        const series: LoadSample[] = [];
        const tally = new WindowTally(p.role.trainer);
        const listingMs: number[] = [];
        const eventMs: number[] = [];
        let stepping = true;
        let timedOut = 0;
        let probeError: unknown;
        // A step that falls behind (the last one, by design) may not publish a probe's vector in time: counted, not fatal.
        const timed = async (kind: 'listing' | 'event', id: string, probing: () => Promise<number>, into: number[]): Promise<boolean> => {
          const sentAt = performance.now();
          try {
            const ms = await probing();
            into.push(ms);
            stages.done(kind, id, sentAt, ms);
            return true;
          } catch (err) {
            if (!(err instanceof ProbeTimeout)) throw err;
            timedOut++;
            return false;
          }
        };
        const probing = (async () => {
          while (stepping) {
            const started = performance.now();
            const item = listed++;
            const user = probe.newUser();
            if (await timed('listing', probe.itemId(item), () => probe.listing(item), listingMs)) await timed('event', user, () => probe.event(probe.itemId(item), user), eventMs);
            await sleep(Math.max(0, PROBE_EVERY_MS - (performance.now() - started)));
          }
        })().catch((err: unknown) => {
          probeError = err;
        });
        let produced = 0;
        let seconds = 0;
        for await (const tick of p.generator.paced(rate, o.durationS)) {
          produced += tick.events;
          seconds = tick.elapsedMs / 1000;
          series.push({
            s: tick.second,
            produced: tick.events,
            lag: tick.lag,
            untrained: tick.produced - p.stats.eventsTrained,
            rssMiB: rssMiB(),
            loopDelayP99Ms: delayMs(p.loop, 99),
            loopDelayMaxMs: Math.round(p.loop.max / 1e4) / 100,
          });
          p.loop.reset();
        }
        const lagAfterWarmup = median(series.slice(WARMUP_S - 1, WARMUP_S + 2).map((x) => x.lag));
        const lagAtEnd = median(series.slice(-3).map((x) => x.lag));
        const toleranceMessages = Math.max(50, rate);
        const achievedRate = Math.round(produced / seconds);
        const flat = lagAtEnd <= lagAfterWarmup + toleranceMessages && achievedRate >= 0.9 * rate;
        const training = tally.take();
        tally.close();
        const delays = series.map((x) => x.loopDelayP99Ms);
        const loopDelayP99Ms = { median: median(delays), worst: Math.max(0, ...delays) };
        stepping = false;
        await probing;
        if (probeError !== undefined) throw probeError;
        const freshness = { eventToUserVector: summarise(eventMs), listingToItemVector: summarise(listingMs), timedOut, stages: stages.take() };
        steps.push({ rate, durationS: o.durationS, produced, achievedRate, lagAfterWarmup, lagAtEnd, toleranceMessages, flat, training, loopDelayP99Ms, freshness, series });
        l.info({ rate, achievedRate, lagAfterWarmup, lagAtEnd, flat, training, loopDelayP99Ms, freshness }, 'load step done');
        if (!flat) break;
      }
    } finally {
      stages.close();
      await probe.close();
    }
    const flatRates = steps.filter((s) => s.flat).map((s) => s.rate);
    return {
      definition: `flat: median lag of the last 3 s <= median lag of seconds ${WARMUP_S - 1}-${WARMUP_S + 1} + max(50, rate), and >= 90% of the target rate produced`,
      generator: { users: generator.users, catalogue: generator.catalogue ?? 'growing', fillHistories: generator.fillHistories ?? false },
      rates,
      highestFlatRate: flatRates.length > 0 ? Math.max(...flatRates) : null,
      windowMs: p.cfg.windowMs,
      batchUsers: p.cfg.batchUsers,
      checkpointEveryMs: p.cfg.checkpointEveryMs,
      steps,
    };
  }, generator);
}
