// Event-replay evaluation: test-then-train metrics of LEARN and its baselines on a logged stream, and the report.
export { recallAtK, ndcgAtK, reciprocalRank, rankOf } from './metrics.js';
export { DAY_MS, COLD_ITEM_THRESHOLD } from '../config/constants.js';
export { RankingMetrics, SLICES, slicesOf, type MetricsReport, type MetricSummary, type RankObservation, type SliceName, type WindowSpec, type WindowSummary } from './metrics-accumulator.js';
export { METHODS, METHOD_LABELS, COLD_USER_FALLBACK, parseMethods, ReplayEvaluator, type EvaluatorOptions, type LossPoint, type MethodName } from './evaluator.js';
export { IdSequenceLearner, type IdExample } from './methods/sasrec/id-learner.js';
export { DecayedPopularity } from '../popularity/index.js';
export { LatencyRecorder, LATENCY_BUCKETS_MS, type LatencySummary } from './latency.js';
export { runReplay, replayTopics, newRunId, REPLAY_KS, type ReplayOptions, type ReplayProgress, type ReplayReport } from './run.js';
export { writeReport, renderReportHtml, reportDir, summaryRows, summaryTable, operatingPointsTable, type WrittenReport } from './report.js';
export { replayInProcess, UPDATE_MODES, type UpdateMode, type WarmStart } from './in-process.js';
export { CONTENT_WEIGHT_GRID, PRIOR_GRID, operatingPointFrom, type OperatingPoint } from './operating-points.js';
export { screenshotReport, CHROMIUM, CHROMIUM_ARGS } from './screenshot.js';
export { scoreRows, stackRows, normalisedMean } from './scoring.js';
