import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { MODEL_CATALOG } from './catalog.js';

/** A LEARN_MODEL value naming a local folder (model.onnx + tokenizer.json) rather than a catalog entry. */
export function isModelDirSpec(spec: string): boolean {
  return spec.includes('/') || spec.startsWith('.') || (!(spec in MODEL_CATALOG) && existsSync(spec));
}

/** The name a local model folder is registered under. */
export function modelDirName(modelDir: string): string {
  return `dir-${basename(modelDir)}`;
}

/**
 * The name part of the ItemContent.model_id the encoder of LEARN_MODEL writes (`<name>@<weights sha>`, with
 * `+<pooling>` for a decoder LLM): what the trainer checks content records against, without loading the model.
 */
export function contentModelName(spec: string): string {
  return isModelDirSpec(spec) ? modelDirName(resolve(spec)) : spec;
}

/** The model name of an ItemContent.model_id. */
export function modelNameOfId(modelId: string): string {
  const at = modelId.indexOf('@');
  return at < 0 ? modelId : modelId.slice(0, at);
}
