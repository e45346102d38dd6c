// Data sets: fetching, converting and loading them as one stream of listings and events, and producing it.
export { recordTime, sortByTime, firstEvents, type DatasetRecord } from './stream.js';
export { datasetStats, type DatasetStats } from './stats.js';
export { DataFetchError, ML100K, ML100K_FILES, fetchMl100k, type DataFetchReason, type FetchMl100kOptions, type Ml100kFiles, type Ml100kManifest } from './ml100k-fetch.js';
export {
  loadMl100k,
  ml100kStream,
  movieListing,
  parseMl100kMovies,
  parseMl100kRatings,
  ratingEvent,
  type Ml100kMovie,
  type Ml100kRating,
} from './ml100k.js';
export { DatasetFormatError, EVENTS_FILE, LISTINGS_FILE, loadJsonlDataset, parseJsonl, type LineProblem, type RecordKind } from './jsonl.js';
export { BUILTIN_DATASETS, dataDirFrom, loadDataset } from './dataset.js';
export {
  DEFAULT_BATCH_SIZE,
  DEFAULT_MAX_SLEEP_MS,
  DEFAULT_PRODUCE_TOPICS,
  produceDataset,
  produceRecords,
  toMessage,
  type BatchSender,
  type Clock,
  type ProduceOptions,
  type ProduceSummary,
  type ProduceTopics,
} from './produce.js';
