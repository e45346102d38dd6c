// node-llama-cpp is an optional dependency (a platform without its prebuilt binary must still install), so it is
// loaded on demand and typed here by the few calls the encoder makes: the project also builds without it.
import type { EncoderDevice } from './onnx-session.js';

export const LLAMA_PACKAGE = 'node-llama-cpp';
/** The pinned version (package.json); newer releases list platform builds the registry does not all serve. */
export const LLAMA_VERSION = '3.21.1';

export interface LlamaEmbedding {
  vector: readonly number[];
}

export interface LlamaEmbeddingContext {
  /** Token input gets the model's BOS/EOS added as llama.cpp's tokenizer would. */
  getEmbeddingFor(input: readonly number[]): Promise<LlamaEmbedding>;
  dispose(): Promise<void>;
}

export interface LlamaModel {
  readonly embeddingVectorSize: number;
  readonly trainContextSize: number;
  tokenize(text: string): number[];
  /** threads: the most this context's decodes use, when the Llama's maxThreads leaves them free (at least 1). */
  createEmbeddingContext(opts: { contextSize: number; batchSize: number; threads: number }): Promise<LlamaEmbeddingContext>;
  dispose(): Promise<void>;
}

export interface Llama {
  /** false on CPU, else the GPU backend in use ('cuda', 'vulkan', 'metal'). */
  readonly gpu: string | false;
  loadModel(opts: {
    modelPath: string;
    gpuLayers?: number | 'auto';
    /** GGUF metadata overrides: `{ <arch>: { pooling_type: 1 } }` sets llama.cpp's pooling for this load. */
    metadataOverrides?: Record<string, Record<string, number>>;
  }): Promise<LlamaModel>;
  dispose(): Promise<void>;
}

interface LlamaModule {
  getLlama(opts: {
    gpu: false | 'auto' | 'cuda';
    build: 'never';
    logLevel: 'error' | 'warn';
    progressLogs: false;
    /** Threads all of this Llama's contexts share (node-llama-cpp's default on CPU: max(4, cores)). */
    maxThreads?: number;
  }): Promise<Llama>;
}

/** gpu-probe-failed: a GPU build loads but dies or errs loading the model or encoding a text (llm-probe.ts). */
export const LLM_RUNTIME_REASONS = ['runtime-missing', 'binary-missing', 'gpu-probe-failed'] as const;
export type LlmRuntimeReason = (typeof LLM_RUNTIME_REASONS)[number];

export class LlmRuntimeError extends Error {
  constructor(
    readonly reason: LlmRuntimeReason,
    message: string,
  ) {
    super(message);
    this.name = 'LlmRuntimeError';
  }
}

/** The prebuilt binary package node-llama-cpp looks for on this platform, e.g. @node-llama-cpp/linux-x64(-cuda). */
export function binaryPackageName(device: EncoderDevice, platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const os = platform === 'darwin' ? 'mac' : platform === 'win32' ? 'win' : platform;
  const gpu = device === 'cuda' ? '-cuda' : platform === 'darwin' && arch === 'arm64' ? '-metal' : '';
  return `@node-llama-cpp/${os}-${arch}${gpu}`;
}

/**
 * llama.cpp through node-llama-cpp's prebuilt binary, never a source build (no compilers, no network at run time).
 * `moduleName` exists for the test that proves the missing-package error; `maxThreads` caps the threads all of
 * this Llama's contexts use at once.
 */
export async function loadLlama(device: EncoderDevice, moduleName: string = LLAMA_PACKAGE, maxThreads?: number): Promise<Llama> {
  let mod: LlamaModule;
  try {
    mod = (await import(moduleName)) as LlamaModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new LlmRuntimeError(
      'runtime-missing',
      `the LLM encoder needs the optional dependency ${moduleName}@${LLAMA_VERSION}, which is not installed: ` +
        `run npm ci without --omit=optional (its binary comes from ${binaryPackageName(device)}), or choose an ONNX model in LEARN_MODEL`,
    );
  }
  if (typeof mod.getLlama !== 'function') throw new LlmRuntimeError('runtime-missing', `${moduleName} has no getLlama(): expected version ${LLAMA_VERSION}`);
  const gpu = device === 'cpu' ? false : device;
  try {
    return await mod.getLlama({ gpu, build: 'never', logLevel: 'error', progressLogs: false, ...(maxThreads !== undefined ? { maxThreads } : {}) });
  } catch (err) {
    throw new LlmRuntimeError(
      'binary-missing',
      `no usable prebuilt llama.cpp binary for ${process.platform}-${process.arch}${device === 'cuda' ? ' with CUDA' : ''}: ` +
        `the optional package ${binaryPackageName(device)}@${LLAMA_VERSION} is not installed or does not load here ` +
        `(${(err as Error).message}); source builds are off by design`,
    );
  }
}
