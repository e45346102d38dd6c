// Public surface of the frozen-LM item encoder (the CEX step): what the Kafka worker and the CLI use.
export { DEFAULT_MODEL, MODEL_CATALOG, artifactCoordinates, type CatalogModel } from './catalog.js';
export { fetchModel, ModelFetchError, type FetchModelOptions, type ModelFetchReason, type ModelFiles } from './model-fetch.js';
export type { ModelManifest } from './manifest.js';
export { ItemEncoder, DEFAULT_MAX_TOKENS, type ItemEncoderOptions } from './item-encoder.js';
export type { ContentEncoder } from './content-encoder.js';
export { loadContentEncoder, fetchEncoderModel, type ContentEncoderOptions, type FetchedModel } from './load-encoder.js';
export { LLM_CATALOG, isLlmModel, type LlmCatalogModel } from './llm-catalog.js';
export { LlmItemEncoder, type LlmEncoderOptions } from './llm-encoder.js';
export { LlmRuntimeError, type LlmRuntimeReason } from './llm-runtime.js';
export { EncoderBatcher, type EncoderBatcherOptions } from './encoder-batcher.js';
export { DynamicBatcher, BatcherClosedError, type DynamicBatcherOptions } from './batcher.js';
export {
  itemText,
  textHash,
  encodeKey,
  ItemTextError,
  DEFAULT_ITEM_TEXT_MAX_CHARS,
  type ItemListingText,
  type ItemText,
} from './item-text.js';
export { toItemContent } from './item-content.js';
export { encodeListings } from './encode-listings.js';
export { POOLING_MODES, poolHiddenStates, l2Normalise, type Pooling } from './pooling.js';
export { ENCODER_DEVICES, type EncoderDevice, type ExecutionProvider } from './onnx-session.js';
export { encoderOptionsFrom, batcherOptionsFrom, modelsDirFrom } from './encoder-config.js';
