import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Message } from 'kafkajs';
import { defaultCodec, type ItemListing, type UserEvent } from '../codec/index.js';
import type { Config } from '../config/load.js';
import { EncoderWorker } from '../encoder/worker.js';
import { createKafka } from '../kafka/client.js';
import { ACKS_ALL, createProducer } from '../kafka/producer.js';
import { ConsumerLagMonitor } from '../ops/consumer-lag.js';
import { log } from '../ops/logger.js';
import { startTrainerRole } from '../trainer/role.js';
import { trainerGroup } from '../trainer/trainer.js';
import { benchListing } from './listings.js';
import { benchPipeline } from './pipeline.js';

/** One second of a load step. */
export interface LoadSample {
  /** Seconds since the step began. */
  s: number;
  /** Events produced (acknowledged) in that second. */
  produced: number;
  /** Trainer group lag on the broker: end offsets minus committed offsets, summed over partitions. */
  lag: number;
  /** Events produced so far and not yet trained (in-process view, no commit delay). */
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
  series: LoadSample[];
}

export interface LoadBench {
  definition: string;
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
  /** Rate multiplier between steps. */
  factor?: number;
}

const WARMUP_S = 3;
const LISTING_EVERY = 100; // one new listing per this many events: the encoder works too
const USERS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/**
 * `learn bench load`: the encoder and the trainer (with its vector publisher) in this process on fresh topics,
 * a fresh Redis prefix, state folder and consumer groups; a paced generator produces UserEvents (and a listing now
 * and then) at a target rate for D seconds per step, rates growing by `factor`; every second it samples the
 * trainer's lag, RSS and event-loop delay. A step is flat when the lag at its end is at most the lag after the
 * warm-up plus one second of production (the window and the 1 s checkpoint cadence hold about that much).
 * The search ends at the first step that is not flat, or past `maxRate`; everything is deleted afterwards.
 */
export async function benchLoad(base: Config, o: LoadOptions): Promise<LoadBench> {
  const l = log('bench.load');
  // Commits follow checkpoints: a 1 s cadence makes the broker's lag a second-by-second measure.
  const { run, cfg, topics, admin, cleanup } = await benchPipeline(base, 'load', { checkpointEveryMs: 1000 });
  const codec = defaultCodec();
  const producer = await createProducer(createKafka(cfg, 'bench'));
  const listing = (i: number): ItemListing => benchListing('load', i);
  const encoder = await EncoderWorker.start(cfg);
  let trainer: Awaited<ReturnType<typeof startTrainerRole>> | undefined;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  const lag = new ConsumerLagMonitor(admin, { groupId: trainerGroup(cfg), topics: [topics.userEvents] }, { intervalMs: 60_000, maxLag: Number.MAX_SAFE_INTEGER });
  try {
    let items = 50;
    await producer.send({ topic: topics.itemListings, acks: ACKS_ALL, messages: Array.from({ length: items }, (_, i) => ({ key: `load-${i}`, value: codec.encode('ItemListing', listing(i)) })) });
    trainer = await startTrainerRole(cfg, {}, { exitOnFailure: false });
    const stats = trainer.trainer.stats;
    loop.enable();
    let eventNo = 0;
    let producedTotal = 0;
    const steps: LoadStep[] = [];
    const rates: number[] = [];
    for (let rate = o.rate; rate <= o.maxRate; rate = Math.ceil(rate * (o.factor ?? 2))) {
      rates.push(rate);
      const series: LoadSample[] = [];
      let produced = 0;
      const stepStart = performance.now();
      for (let s = 1; s <= o.durationS; s++) {
        // Ten sends a second, each due at its slot; a slow send eats into the next slot, never adds one.
        let inSecond = 0;
        for (let k = 0; k < 10; k++) {
          const due = stepStart + (s - 1) * 1000 + k * 100;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
          const n = Math.floor((rate * (k + 1)) / 10) - Math.floor((rate * k) / 10);
          const messages: Message[] = [];
          for (let j = 0; j < n; j++) {
            const e: UserEvent = { event_id: `${run}-${eventNo}`, user_id: `u${eventNo % USERS}`, item_id: `load-${(eventNo * 7919) % items}`, type: 'click', ts: Date.now(), weight: null };
            messages.push({ key: e.user_id, value: codec.encode('UserEvent', e) });
            eventNo++;
          }
          const newListings: Message[] = [];
          while (eventNo / LISTING_EVERY > items - 50) {
            newListings.push({ key: `load-${items}`, value: codec.encode('ItemListing', listing(items)) });
            items++;
          }
          if (newListings.length > 0) await producer.send({ topic: topics.itemListings, acks: ACKS_ALL, messages: newListings });
          if (messages.length > 0) await producer.send({ topic: topics.userEvents, acks: ACKS_ALL, messages });
          inSecond += messages.length;
        }
        produced += inSecond;
        producedTotal += inSecond;
        await lag.pollOnce();
        series.push({
          s,
          produced: inSecond,
          lag: lag.snapshot()?.partitions.reduce((sum, p) => sum + p.lag, 0) ?? -1,
          untrained: producedTotal - stats.eventsTrained,
          rssMiB: Math.round(process.memoryUsage.rss() / 1_048_576),
          loopDelayP99Ms: Math.round(loop.percentile(99) / 1e4) / 100,
          loopDelayMaxMs: Math.round(loop.max / 1e4) / 100,
        });
        loop.reset();
      }
      const seconds = (performance.now() - stepStart) / 1000;
      const lagAfterWarmup = median(series.slice(WARMUP_S - 1, WARMUP_S + 2).map((x) => x.lag));
      const lagAtEnd = median(series.slice(-3).map((x) => x.lag));
      const toleranceMessages = Math.max(50, rate);
      const achievedRate = Math.round(produced / seconds);
      const flat = lagAtEnd <= lagAfterWarmup + toleranceMessages && achievedRate >= 0.9 * rate;
      steps.push({ rate, durationS: o.durationS, produced, achievedRate, lagAfterWarmup, lagAtEnd, toleranceMessages, flat, series });
      l.info({ rate, achievedRate, lagAfterWarmup, lagAtEnd, flat }, 'load step done');
      if (!flat) break;
    }
    const flatRates = steps.filter((s) => s.flat).map((s) => s.rate);
    return {
      definition: `flat: median lag of the last 3 s <= median lag of seconds ${WARMUP_S - 1}-${WARMUP_S + 1} + max(50, rate), and >= 90% of the target rate produced`,
      rates,
      highestFlatRate: flatRates.length > 0 ? Math.max(...flatRates) : null,
      windowMs: cfg.windowMs,
      batchUsers: cfg.batchUsers,
      checkpointEveryMs: cfg.checkpointEveryMs,
      steps,
    };
  } finally {
    loop.disable();
    await trainer?.stop();
    await encoder.stop();
    await producer.disconnect();
    await cleanup();
  }
}
