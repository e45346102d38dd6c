import { resolve } from 'node:path';
import type { Config } from '../config/settings.js';
import { PROJECT_ROOT } from '../config/paths.js';
import type { EncoderBatcherOptions } from './encoder-batcher.js';
import type { ContentEncoderOptions } from './load-encoder.js';

/** The model cache folder, absolute (a relative LEARN_MODELS_DIR is taken from the project root). */
export function modelsDirFrom(cfg: Config): string {
  return resolve(PROJECT_ROOT, cfg.modelsDir);
}

/** Encoder options from the validated config; `model` overrides LEARN_MODEL. */
export function encoderOptionsFrom(cfg: Config, model?: string): ContentEncoderOptions {
  const o: ContentEncoderOptions = {
    model: model ?? cfg.encoderModel,
    modelsDir: modelsDirFrom(cfg),
    maxTokens: cfg.encoderMaxTokens,
    device: cfg.encoderDevice,
    python: cfg.pythonBin,
    loneText: cfg.encoderLoneText,
  };
  if (cfg.encoderPooling !== undefined) o.pooling = cfg.encoderPooling;
  if (cfg.encoderThreads !== undefined) o.intraOpNumThreads = cfg.encoderThreads;
  return o;
}

export function batcherOptionsFrom(cfg: Config): EncoderBatcherOptions {
  return { maxBatch: cfg.encoderBatch, maxWaitMs: cfg.encoderWaitMs };
}
