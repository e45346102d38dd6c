import type { Config } from '../config/load.js';
import { EncoderWorker } from '../encoder/worker.js';
import { log } from '../ops/logger.js';
import { startTrainerRole } from '../trainer/role.js';
import { FreshnessProbe, PROBE_POLL_MS } from './freshness-probe.js';
import { summarise, type LatencySummary } from './percentiles.js';
import { benchPipeline } from './pipeline.js';

export interface FreshnessBench {
  /** Listing sent -> its item vector readable in Redis under the current version. */
  listingToItemVector: LatencySummary;
  /** A new user's first event produced -> that user's vector readable in Redis (published as the event is consumed). */
  eventToUserVector: LatencySummary;
  windowMs: number;
  batchUsers: number;
  pollMs: number;
}

/**
 * `learn bench freshness`: the encoder, the trainer and its vector publisher in this process on fresh topics and
 * a fresh Redis prefix; listings and events produced one at a time; Redis polled until the vectors show up.
 */
export async function benchFreshness(base: Config, opts: { listings?: number; events?: number } = {}): Promise<FreshnessBench> {
  const l = log('bench.freshness');
  const { cfg, topics, cleanup } = await benchPipeline(base, 'freshness', { checkpointEveryMs: 3_600_000 });
  let probe: FreshnessProbe | undefined;
  let encoder: EncoderWorker | undefined;
  let trainer: Awaited<ReturnType<typeof startTrainerRole>> | undefined;
  try {
    const p = (probe = await FreshnessProbe.open(cfg, topics, { prefix: 'fresh' }));
    encoder = await EncoderWorker.start(cfg);
    // A seed catalogue sizes the model; the trainer starts once the first content exists.
    for (let i = 0; i < 20; i++) await p.list(i);
    trainer = await startTrainerRole(cfg);

    const listingMs: number[] = [];
    for (let i = 1000; i < 1000 + (opts.listings ?? 40); i++) listingMs.push(await p.listing(i));
    l.info(summarise(listingMs), 'listing -> item vector');

    const eventMs: number[] = [];
    for (let n = 0; n < (opts.events ?? 24); n++) eventMs.push(await p.event(p.itemId((n * 7) % 20)));
    l.info(summarise(eventMs), 'event -> user vector');
    return { listingToItemVector: summarise(listingMs), eventToUserVector: summarise(eventMs), windowMs: cfg.windowMs, batchUsers: cfg.batchUsers, pollMs: PROBE_POLL_MS };
  } finally {
    await trainer?.stop();
    await encoder?.stop();
    await probe?.close();
    await cleanup();
  }
}
