import { availableParallelism } from 'node:os';
import { log } from '../ops/logger.js';
import type { ContentEncoder } from './content-encoder.js';
import { LLM_CATALOG } from './llm-catalog.js';
import { fetchLlmModel, type LlmModelFiles } from './llm-fetch.js';
import { loadLlama, type Llama, type LlamaEmbeddingContext, type LlamaModel } from './llm-runtime.js';
import { usableLlmDevice } from './llm-probe.js';
import type { EncoderDevice } from './onnx-session.js';
import { l2Normalise, type Pooling } from './pooling.js';

export interface LlmEncoderOptions {
  /** An LLM_CATALOG name, e.g. smollm2-135m. */
  model: string;
  modelsDir: string;
  /** Truncation in tokens, BOS/EOS included (default 128). */
  maxTokens?: number;
  /** mean (default, as LEARN) or last-token. */
  pooling?: Pooling;
  /** CPU threads in all (default: one per core). */
  threads?: number;
  device?: EncoderDevice;
  python?: string;
}

// llama.cpp's enum llama_pooling_type, set through the GGUF metadata key `<arch>.pooling_type` at load.
const LLAMA_POOLING = { mean: 1, 'last-token': 3 } as const;
// One decode runs on a libuv worker thread (4 by default); more contexts than that would only queue.
const MAX_CONTEXTS = 4;

/**
 * A decoder LLM (GGUF, via llama.cpp) as the frozen item encoder. llama.cpp pools the last layer's (final-norm)
 * hidden states inside its graph: mean over every token of the text, as LEARN's CEX does with Baichuan2, or the
 * last token (under causal attention the only one that has read the whole text). CLS pooling means nothing for a
 * causal model (its first token sees only itself) and is refused.
 *
 * Throughput: an embedding context holds one sequence, so a batch is spread over several contexts, each with
 * its own llama.cpp threads; on 2 cores, 2 contexts x 1 thread. One context with every core would spin-wait at
 * every graph node's barrier whenever a neighbour process takes a core.
 */
export class LlmItemEncoder implements ContentEncoder {
  readonly name: string;
  readonly modelId: string;
  readonly dim: number;
  readonly provider: string;
  private next = 0;

  private constructor(
    readonly files: LlmModelFiles,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly contexts: LlamaEmbeddingContext[],
    readonly pooling: Pooling,
    readonly maxTokens: number,
  ) {
    this.name = files.manifest.name;
    // Pooling changes every vector, so it is part of the identity (the idempotency key re-encodes on a switch).
    this.modelId = pooling === 'mean' ? files.manifest.modelId : `${files.manifest.modelId}+${pooling}`;
    this.dim = model.embeddingVectorSize;
    this.provider = llama.gpu === false ? 'cpu' : llama.gpu;
  }

  static async load(opts: LlmEncoderOptions): Promise<LlmItemEncoder> {
    const pooling = opts.pooling ?? 'mean';
    if (pooling === 'cls') {
      throw new Error(`LEARN_POOLING=cls does not suit the decoder LLM ${opts.model}: under causal attention its first token sees only itself; use mean or last-token`);
    }
    const fetchOpts = { modelsDir: opts.modelsDir, ...(opts.python !== undefined ? { python: opts.python } : {}) };
    const files = await fetchLlmModel(opts.model, fetchOpts);
    const metadataOverrides = { [LLM_CATALOG[opts.model]!.architecture]: { pooling_type: LLAMA_POOLING[pooling] } };
    // A GPU build is tried in a child process first: one that aborts natively at its first encode must not take this one.
    const device = await usableLlmDevice(opts.device ?? 'auto', { modelPath: files.ggufPath, metadataOverrides });
    const llama = await loadLlama(device);
    const model = await llama.loadModel({
      modelPath: files.ggufPath,
      ...(llama.gpu === false ? {} : { gpuLayers: 'auto' as const }),
      metadataOverrides,
    });
    const maxTokens = Math.max(4, Math.min(opts.maxTokens ?? 128, model.trainContextSize));
    const cores = opts.threads ?? availableParallelism();
    const n = llama.gpu === false ? Math.min(cores, MAX_CONTEXTS) : 1;
    const threads = Math.max(1, Math.floor(cores / n));
    const contexts: LlamaEmbeddingContext[] = [];
    try {
      // contextSize must exceed the longest input (BOS + text + EOS); one decode takes it whole.
      for (let i = 0; i < n; i++) contexts.push(await model.createEmbeddingContext({ contextSize: maxTokens + 1, batchSize: maxTokens + 1, threads }));
    } catch (err) {
      await Promise.all(contexts.map((c) => c.dispose()));
      await model.dispose();
      throw err;
    }
    const enc = new LlmItemEncoder(files, llama, model, contexts, pooling, maxTokens);
    log('encoder').info(
      { model: enc.modelId, dim: enc.dim, pooling, maxTokens, provider: enc.provider, contexts: n, threadsPerContext: threads },
      'LLM item encoder ready',
    );
    return enc;
  }

  /** Text tokens without BOS/EOS (llama.cpp adds what the model wants), cut to leave room for them. */
  tokenize(text: string): number[] {
    const ids = this.model.tokenize(text).slice(0, this.maxTokens - 2);
    if (ids.length === 0) throw new Error('empty text: nothing to encode');
    return ids;
  }

  /** Rows go to the contexts as each frees up: every core busy while the batch lasts. */
  async encodeTokens(rows: number[][]): Promise<Float32Array[]> {
    const out = new Array<Float32Array>(rows.length);
    let i = 0;
    const drain = async (ctx: LlamaEmbeddingContext): Promise<void> => {
      while (i < rows.length) {
        const k = i++;
        const e = await ctx.getEmbeddingFor(rows[k]!);
        if (e.vector.length !== this.dim) throw new Error(`llama.cpp returned ${e.vector.length} values, expected ${this.dim}`);
        out[k] = l2Normalise(Float32Array.from(e.vector));
      }
    };
    // Start at a rotating context so single-row calls from several callers spread out too.
    const start = this.next++ % this.contexts.length;
    const order = [...this.contexts.slice(start), ...this.contexts.slice(0, start)].slice(0, rows.length);
    await Promise.all(order.map(drain));
    return out;
  }

  encodeBatch(texts: string[]): Promise<Float32Array[]> {
    return this.encodeTokens(texts.map((t) => this.tokenize(t)));
  }

  async encode(text: string): Promise<Float32Array> {
    const [v] = await this.encodeBatch([text]);
    return v!;
  }

  async close(): Promise<void> {
    await Promise.all(this.contexts.map((c) => c.dispose()));
    await this.model.dispose();
    await this.llama.dispose();
  }
}
