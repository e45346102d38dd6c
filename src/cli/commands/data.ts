import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { datasetStats } from '../../data/stats.js';
import { dataDirFrom, loadAnyDataset, loadDataset } from '../../data/dataset.js';
import { sequenceStats } from '../../data/sequences.js';
import { ML100K, fetchMl100k } from '../../data/ml100k-fetch.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_MAX_SLEEP_MS, DEFAULT_PRODUCE_TOPICS, produceDataset } from '../../data/produce.js';
import { progressReporter } from '../../data/progress.js';
import { firstEvents } from '../../data/stream.js';
import { createKafka } from '../../kafka/client.js';
import { onShutdown } from '../../ops/shutdown.js';
import { intOption, numberOption } from '../options.js';

const DATASET_HELP = `${ML100K} (fetched once into LEARN_DATA_DIR), a JSON Lines file, a folder with listings.jsonl and events.jsonl, or a MovieLens CSV folder (ratings.csv, movies.csv, tags.csv) (docs/datasets.md)`;

interface ProduceFlags {
  speed: number;
  limit?: number;
  batchSize: number;
  maxSleepMs: number;
  listingsTopic: string;
  eventsTopic: string;
}

/** `learn data fetch|stats` and `learn produce`: data sets on disk and into Kafka. */
export function registerData(program: Command): void {
  const data = program.command('data').description('data sets for produce and replay');
  data
    .command('fetch <dataset>')
    .description(`fetch a built-in data set into the git-ignored cache once (${ML100K})`)
    .action(async (name: string) => {
      if (name !== ML100K) throw new Error(`unknown data set "${name}"; built in: ${ML100K}`);
      const cfg = loadConfig();
      const files = await fetchMl100k({ dataDir: dataDirFrom(cfg), python: cfg.pythonBin });
      process.stdout.write(`${JSON.stringify({ dir: files.dir, ...files.manifest }, null, 2)}\n`);
    });

  data
    .command('stats <dataset>')
    .description(`counts of a data set as JSON: ${DATASET_HELP}, or a folder of RecBole/UniSRec sequence files (NAME.text, NAME.{valid,test}.inter, NAME.item2index, NAME.user2index)`)
    .action(async (spec: string) => {
      const d = await loadAnyDataset(spec, loadConfig());
      const stats = d.kind === 'stream' ? datasetStats(d.records) : { kind: 'sequences', ...sequenceStats(d.data) };
      process.stdout.write(`${JSON.stringify({ dataset: spec, ...stats }, null, 2)}\n`);
    });

  program
    .command('produce <dataset>')
    .description(`publish a data set in time order: listings to ${DEFAULT_PRODUCE_TOPICS.listings}, events to ${DEFAULT_PRODUCE_TOPICS.events}; DATASET: ${DATASET_HELP}`)
    .option('--speed <x>', 'multiple of real time for the gaps between records; 0 = as fast as possible', numberOption('--speed', 0), 0)
    .option('--limit <n>', 'stop after the first N events (and the listings before them)', intOption('--limit'))
    .option('--batch-size <n>', 'messages per send request', intOption('--batch-size'), DEFAULT_BATCH_SIZE)
    .option('--max-sleep-ms <ms>', 'longest pause between two records with --speed', numberOption('--max-sleep-ms', 0), DEFAULT_MAX_SLEEP_MS)
    .option('--listings-topic <name>', 'topic for listings', DEFAULT_PRODUCE_TOPICS.listings)
    .option('--events-topic <name>', 'topic for events', DEFAULT_PRODUCE_TOPICS.events)
    .action(async (spec: string, o: ProduceFlags) => {
      const cfg = loadConfig();
      const all = await loadDataset(spec, cfg);
      const records = o.limit === undefined ? all : firstEvents(all, o.limit);
      const progress = progressReporter('produce', records.length);
      const stop = new AbortController();
      const done = produceDataset(createKafka(cfg, 'producer'), records, {
        topics: { listings: o.listingsTopic, events: o.eventsTopic },
        speed: o.speed,
        batchSize: o.batchSize,
        maxSleepMs: o.maxSleepMs,
        onProgress: (n) => progress.update(n),
        signal: stop.signal,
      }).then((summary) => {
        progress.stop();
        process.stdout.write(`${JSON.stringify({ dataset: spec, ...summary })}\n`);
      });
      // Ctrl-C stops after the batch in flight; the summary still reports what was acknowledged.
      const unregister = onShutdown('produce', async () => {
        stop.abort();
        await done.catch(() => undefined);
      });
      try {
        await done;
      } finally {
        progress.stop();
        unregister();
      }
    });
}
