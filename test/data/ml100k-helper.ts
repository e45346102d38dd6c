// The real ml-100k files for tests: fetched once per machine through the product's own fetch (CI starts bare).
import { loadConfig } from '../../src/config/load.js';
import { dataDirFrom } from '../../src/data/dataset.js';
import { fetchMl100k, type Ml100kFiles } from '../../src/data/ml100k-fetch.js';

let files: Promise<Ml100kFiles> | undefined;

export function ml100kFiles(): Promise<Ml100kFiles> {
  const cfg = loadConfig();
  files ??= fetchMl100k({ dataDir: dataDirFrom(cfg), python: cfg.pythonBin });
  return files;
}
