import type { Pooling } from './pooling.js';

/**
 * The frozen LM as the rest of the product sees it (the paper's CEX step): text -> L2-normalised float32 vector
 * of the model's width. Two back ends: ONNX sentence encoders (ItemEncoder) and GGUF decoder LLMs run by
 * llama.cpp (LlmItemEncoder); `loadContentEncoder` picks one by LEARN_MODEL.
 */
export interface ContentEncoder {
  /** Catalog name (or `dir-<folder>` for a local ONNX export). */
  readonly name: string;
  /** Identifies the weights and pooling; goes into ItemContent.model_id and the idempotency key. */
  readonly modelId: string;
  /** Vector width: the model's hidden size, read from the model (384 MiniLM, 576 SmolLM2). */
  readonly dim: number;
  readonly pooling: Pooling;
  /** Truncation length in tokens. */
  readonly maxTokens: number;
  /** Where it runs: cpu, cuda, vulkan… */
  readonly provider: string;
  /** Token ids for a text, truncated; throws for a text the model cannot take (its caller's text only). */
  tokenize(text: string): number[];
  /** Vectors for rows from `tokenize`, in the same order. Rows may run concurrently inside. */
  encodeTokens(rows: number[][]): Promise<Float32Array[]>;
  encodeBatch(texts: string[]): Promise<Float32Array[]>;
  encode(text: string): Promise<Float32Array>;
  close(): Promise<void>;
}
