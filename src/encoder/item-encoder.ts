import type * as ort from 'onnxruntime-node';
import { log } from '../ops/logger.js';
import { DEFAULT_MODEL } from './catalog.js';
import type { ContentEncoder } from './content-encoder.js';
import { checkModelInputs, runHiddenStates } from './forward.js';
import type { ModelManifest } from './manifest.js';
import { fetchModel, type ModelFiles } from './model-fetch.js';
import { createOnnxSession, type EncoderDevice, type ExecutionProvider } from './onnx-session.js';
import { poolHiddenStates, type Pooling } from './pooling.js';
import { TextTokenizer } from './tokenizer.js';

export const DEFAULT_MAX_TOKENS = 128;

export interface ItemEncoderOptions {
  /** Catalog name or a folder with model.onnx + tokenizer.json (default all-minilm-l6-v2-q). */
  model?: string;
  /** Model cache root. */
  modelsDir: string;
  /** Truncation length, capped by the model's own limit (default 128). */
  maxTokens?: number;
  /** Overrides the model's pooling. */
  pooling?: Pooling;
  intraOpNumThreads?: number;
  device?: EncoderDevice;
}

/**
 * The frozen LM: text -> L2-normalised float32 content vector (the paper's CEX step). Loads (fetching once
 * if needed) a model, its tokenizer and an ONNX Runtime session. Safe to share: batches may run concurrently.
 */
export class ItemEncoder implements ContentEncoder {
  /** Identifies the weights; goes into ItemContent.model_id and the idempotency key. */
  readonly modelId: string;
  /** Vector dimension (the LM's hidden size). */
  readonly dim: number;
  readonly pooling: Pooling;
  readonly maxTokens: number;

  private constructor(
    readonly files: ModelFiles,
    readonly tokenizer: TextTokenizer,
    private readonly session: ort.InferenceSession,
    readonly provider: ExecutionProvider,
    pooling: Pooling,
  ) {
    this.modelId = files.manifest.modelId;
    this.dim = files.manifest.hiddenSize;
    this.pooling = pooling;
    this.maxTokens = tokenizer.maxTokens;
  }

  static async load(opts: ItemEncoderOptions): Promise<ItemEncoder> {
    const files = await fetchModel(opts.model ?? DEFAULT_MODEL, { modelsDir: opts.modelsDir });
    const m = files.manifest;
    const maxTokens = Math.min(opts.maxTokens ?? DEFAULT_MAX_TOKENS, m.maxTokens);
    const tokenizer = await TextTokenizer.fromFiles(files.tokenizerPath, maxTokens, files.tokenizerConfigPath);
    const sessionOpts: { device?: EncoderDevice; intraOpNumThreads?: number } = {};
    if (opts.device !== undefined) sessionOpts.device = opts.device;
    if (opts.intraOpNumThreads !== undefined) sessionOpts.intraOpNumThreads = opts.intraOpNumThreads;
    const { session, provider } = await createOnnxSession(files.onnxPath, sessionOpts);
    checkModelInputs(session);
    const enc = new ItemEncoder(files, tokenizer, session, provider, opts.pooling ?? m.pooling);
    log('encoder').info(
      { model: enc.modelId, dim: enc.dim, pooling: enc.pooling, maxTokens, provider },
      'item encoder ready',
    );
    return enc;
  }

  get name(): string {
    return this.files.manifest.name;
  }

  get manifest(): ModelManifest {
    return this.files.manifest;
  }

  /** Token ids for a text, with the model's document prefix (E5: "passage: ") and truncation applied. */
  tokenize(text: string): number[] {
    return this.tokenizer.encode(`${this.manifest.textPrefix ?? ''}${text}`);
  }

  /**
   * Vectors for rows already tokenised with `tokenize`, in the same order. Each row runs alone, unpadded: the int8
   * exports quantise activations with one scale per tensor (DynamicQuantizeLinear), so in a shared run a row's
   * vector would depend on its batch-mates and their padding. Alone, it depends on its tokens only, bit for bit,
   * which the idempotency key (item, text hash, model) promises; the cost is in docs/encoders.md.
   */
  async encodeTokens(rows: number[][]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (const row of rows) {
      const one = this.tokenizer.pad([row]);
      const hidden = await runHiddenStates(this.session, one, this.manifest.outputName);
      out.push(poolHiddenStates(hidden, one.attentionMask, this.pooling)[0]!);
    }
    return out;
  }

  async encodeBatch(texts: string[]): Promise<Float32Array[]> {
    return this.encodeTokens(texts.map((t) => this.tokenize(t)));
  }

  async encode(text: string): Promise<Float32Array> {
    const [v] = await this.encodeBatch([text]);
    return v!;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
