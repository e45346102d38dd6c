// Resolves a DATASET argument: the name of a built-in data set or a path to JSON Lines.
import { resolve } from 'node:path';
import type { Config } from '../config/load.js';
import { PROJECT_ROOT } from '../config/paths.js';
import { loadJsonlDataset } from './jsonl.js';
import { ML100K, fetchMl100k } from './ml100k-fetch.js';
import { loadMl100k } from './ml100k.js';
import type { DatasetRecord } from './stream.js';

export const BUILTIN_DATASETS = [ML100K] as const;

/** The data cache folder, absolute (LEARN_DATA_DIR is relative to the project root). */
export function dataDirFrom(cfg: Config): string {
  return resolve(PROJECT_ROOT, cfg.dataDir);
}

/** Loads `spec` as a stream in time order; a built-in data set is fetched first when not cached. */
export async function loadDataset(spec: string, cfg: Config): Promise<DatasetRecord[]> {
  if (spec === ML100K) return loadMl100k(await fetchMl100k({ dataDir: dataDirFrom(cfg), python: cfg.pythonBin }));
  return loadJsonlDataset(resolve(spec));
}
