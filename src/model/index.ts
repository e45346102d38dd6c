// The public API of the PAL model: what the streaming trainer and the CLI use.
export { liveTensors, selectBackend, selectedBackend, wasmHeapBytes, type BackendChoice, type ConcreteBackend, type SelectedBackend } from './backend.js';
export { DEFAULT_PAL_CONFIG, palConfig, palConfigFromConfig, type PalConfig } from './config.js';
export { buildPalBatch, packHistories, type ItemRef, type NegativePool, type PalBatch, type UserExample } from './batch.js';
export { PalModel, type PalParameter } from './pal-model.js';
export { allActionInfoNce, type HistorySide, type TargetSide } from './loss.js';
export { AdamW, clipByGlobalNorm, type AdamWOptions, type AdamWState } from './adamw.js';
export { frozenContent, hybridFloats, hybridResiduals, idEmbeddings, type ItemInput } from './item-input.js';
export { hasNegatives, PalLearner, userChunkRows, type LearnerState } from './learner.js';
export { Rng } from './rng.js';
export type { NamedArray, NamedArrays } from './tensors.js';
