// Resolves a DATASET argument: the name of a built-in data set or a path (JSON Lines, a MovieLens CSV folder, or a
// folder of RecBole/UniSRec sequence files).
import { resolve } from 'node:path';
import type { Config } from '../config/load.js';
import { PROJECT_ROOT } from '../config/paths.js';
import { loadJsonlDataset } from './jsonl.js';
import { ML100K, fetchMl100k } from './ml100k-fetch.js';
import { loadMl100k } from './ml100k.js';
import { isMovieLensCsvDir, loadMovieLensCsv } from './movielens-csv.js';
import { loadSequenceDataset, sequenceFilesName, type SequenceDataset } from './sequences.js';
import type { DatasetRecord } from './stream.js';

export const BUILTIN_DATASETS = [ML100K] as const;

/** The data cache folder, absolute (LEARN_DATA_DIR is relative to the project root). */
export function dataDirFrom(cfg: Config): string {
  return resolve(PROJECT_ROOT, cfg.dataDir);
}

/** A loaded data set: a time-ordered stream, or per-user sequences without times. */
export type AnyDataset = { kind: 'stream'; records: DatasetRecord[] } | { kind: 'sequences'; data: SequenceDataset };

/** Loads `spec` as a stream in time order; a built-in data set is fetched first when not cached. */
export async function loadDataset(spec: string, cfg: Config): Promise<DatasetRecord[]> {
  const d = await loadAnyDataset(spec, cfg);
  if (d.kind === 'sequences') {
    throw new Error(`${spec} holds sequences without timestamps (RecBole/UniSRec files): it has no time order to replay or produce; use \`learn eval loo ${spec}\``);
  }
  return d.records;
}

/** Loads `spec` whatever its kind. */
export async function loadAnyDataset(spec: string, cfg: Config): Promise<AnyDataset> {
  if (spec === ML100K) return { kind: 'stream', records: await loadMl100k(await fetchMl100k({ dataDir: dataDirFrom(cfg), python: cfg.pythonBin })) };
  const path = resolve(spec);
  if (isMovieLensCsvDir(path)) return { kind: 'stream', records: await loadMovieLensCsv(path) };
  if (sequenceFilesName(path) !== undefined) return { kind: 'sequences', data: await loadSequenceDataset(path) };
  return { kind: 'stream', records: await loadJsonlDataset(path) };
}

/** Loads `spec` as per-user sequences: sequence files as they are, a stream as each user's events in time order. */
export async function loadSequences(spec: string, cfg: Config): Promise<SequenceDataset> {
  const d = await loadAnyDataset(spec, cfg);
  if (d.kind === 'sequences') return d.data;
  const listings = d.records.flatMap((r) => (r.kind === 'listing' ? [{ ...r.value, listed_at: 0 }] : []));
  const users = new Map<string, string[]>();
  for (const r of d.records) {
    if (r.kind !== 'event') continue;
    const seq = users.get(r.value.user_id);
    if (seq) seq.push(r.value.item_id);
    else users.set(r.value.user_id, [r.value.item_id]);
  }
  return { listings, users: [...users].map(([userId, items]) => ({ userId, items })) };
}
