import { loadavg } from 'node:os';
import type { LoneTextMode } from '../config/settings.js';
import { usableCpus } from '../ops/cpu-quota.js';
import { log } from '../ops/logger.js';
import type { ContentEncoder } from './content-encoder.js';
import { LLM_CATALOG } from './llm-catalog.js';
import { fetchLlmModel, type LlmModelFiles } from './llm-fetch.js';
import { LLAMA_PACKAGE, loadLlama, type Llama, type LlamaEmbeddingContext, type LlamaModel } from './llm-runtime.js';
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
  /** How a text that arrives alone on an idle encoder is run (default auto; see LONE_TEXT_MODES). */
  loneText?: LoneTextMode;
  device?: EncoderDevice;
  python?: string;
}

// llama.cpp's enum llama_pooling_type, set through the GGUF metadata key `<arch>.pooling_type` at load.
const LLAMA_POOLING = { mean: 1, 'last-token': 3 } as const;
// One decode runs on a libuv worker thread (4 by default); more contexts than that would only queue.
const MAX_CONTEXTS = 4;

/**
 * A text alone (a batch of one, every context idle) on CPU: `all-cores` runs it on a context of its own with every
 * core, for a lower median latency; when other processes hold cores its tail and CPU time grow several-fold, as
 * llama.cpp's threads spin-wait for each other at every one of the graph's hundreds of nodes. `one-core` runs it on
 * a batch context; `auto` takes all cores while the 1-minute load average says they are idle.
 */
export { LONE_TEXT_MODES, type LoneTextMode } from '../config/settings.js';
// Under half a core busy on average over the last minute: every core is free for a lone text's threads.
const IDLE_LOAD = 0.5;

/** Whether a text alone (every context idle) runs on every core, given the 1-minute load average. */
export function allCoresForLoneText(mode: LoneTextMode, load1: number): boolean {
  return mode === 'all-cores' || (mode === 'auto' && load1 < IDLE_LOAD);
}

interface LoneContext {
  ctx: LlamaEmbeddingContext;
  mode: Exclude<LoneTextMode, 'one-core'>;
  busy: boolean;
}

/**
 * A decoder LLM (GGUF, via llama.cpp) as the frozen item encoder. llama.cpp pools the last layer's (final-norm)
 * hidden states inside its graph: mean over every token of the text, as LEARN's CEX does with Baichuan2, or the
 * last token (under causal attention the only one that has read the whole text). CLS pooling means nothing for a
 * causal model (its first token sees only itself) and is refused.
 *
 * Throughput: an embedding context holds one sequence, so a batch is spread over several contexts, each with
 * its share of the cores (on 2 cores, 2 contexts x 1 thread); one context with every core would spin-wait at every
 * graph node's barrier whenever a neighbour process takes a core. Latency: a lone text on an idle encoder and an
 * idle machine runs on one more context with every core (LONE_TEXT_MODES).
 */
export class LlmItemEncoder implements ContentEncoder {
  readonly name: string;
  readonly modelId: string;
  readonly dim: number;
  readonly provider: string;
  private lonesRun = 0;
  /** Rows each context is encoding now, by context index. */
  private readonly busy: number[];

  private constructor(
    readonly files: LlmModelFiles,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly contexts: LlamaEmbeddingContext[],
    private readonly lone: LoneContext | undefined,
    readonly pooling: Pooling,
    readonly maxTokens: number,
  ) {
    this.name = files.manifest.name;
    // Pooling changes every vector, so it is part of the identity (the idempotency key re-encodes on a switch).
    this.modelId = pooling === 'mean' ? files.manifest.modelId : `${files.manifest.modelId}+${pooling}`;
    this.dim = model.embeddingVectorSize;
    this.provider = llama.gpu === false ? 'cpu' : llama.gpu;
    this.busy = contexts.map(() => 0);
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
    const { device } = await usableLlmDevice(opts.device ?? 'auto', { modelPath: files.ggufPath, metadataOverrides });
    const cores = opts.threads ?? usableCpus();
    const llama = await loadLlama(device, LLAMA_PACKAGE, cores);
    let model: LlamaModel;
    try {
      model = await llama.loadModel({
        modelPath: files.ggufPath,
        ...(llama.gpu === false ? {} : { gpuLayers: 'auto' as const }),
        metadataOverrides,
      });
    } catch (err) {
      await llama.dispose();
      throw err;
    }
    const maxTokens = Math.max(4, Math.min(opts.maxTokens ?? 128, model.trainContextSize));
    const n = llama.gpu === false ? Math.min(cores, MAX_CONTEXTS) : 1;
    const threads = Math.max(1, Math.floor(cores / n));
    const loneMode = opts.loneText ?? 'auto';
    const contexts: LlamaEmbeddingContext[] = [];
    let lone: LoneContext | undefined;
    // contextSize must exceed the longest input (BOS + text + EOS); one decode takes it whole.
    const size = { contextSize: maxTokens + 1, batchSize: maxTokens + 1 };
    try {
      for (let i = 0; i < n; i++) contexts.push(await model.createEmbeddingContext({ ...size, threads }));
      // The lone-text context shares the weights; node-llama-cpp's thread splitter (the Llama's maxThreads = cores)
      // makes a batch context that starts meanwhile wait for free cores rather than oversubscribe them.
      if (llama.gpu === false && cores > threads && loneMode !== 'one-core') {
        lone = { ctx: await model.createEmbeddingContext({ ...size, threads: cores }), mode: loneMode, busy: false };
      }
    } catch (err) {
      await Promise.all(contexts.map((c) => c.dispose()));
      await model.dispose();
      await llama.dispose();
      throw err;
    }
    const enc = new LlmItemEncoder(files, llama, model, contexts, lone, pooling, maxTokens);
    log('encoder').info(
      { model: enc.modelId, dim: enc.dim, pooling, maxTokens, provider: enc.provider, contexts: n, threadsPerContext: threads, loneText: lone ? `${lone.mode}: ${cores} threads` : 'a batch context' },
      'LLM item encoder ready',
    );
    return enc;
  }

  /** Texts run alone on the all-cores context since load (the rest ran on batch contexts). */
  get lonesOnAllCores(): number {
    return this.lonesRun;
  }

  /** Text tokens without BOS/EOS (llama.cpp adds what the model wants), cut to leave room for them. */
  tokenize(text: string): number[] {
    const ids = this.model.tokenize(text).slice(0, this.maxTokens - 2);
    if (ids.length === 0) throw new Error('empty text: nothing to encode');
    return ids;
  }

  /** Rows go to the contexts as each frees up: every core busy while the batch lasts. */
  async encodeTokens(rows: number[][]): Promise<Float32Array[]> {
    if (rows.length === 1 && this.loneFits()) return [await this.encodeLone(rows[0]!)];
    const out = new Array<Float32Array>(rows.length);
    let i = 0;
    const drain = async (c: number): Promise<void> => {
      this.busy[c]!++;
      try {
        while (i < rows.length) {
          const k = i++;
          out[k] = await this.embed(this.contexts[c]!, rows[k]!);
        }
      } finally {
        this.busy[c]!--;
      }
    };
    // The least busy contexts first (lowest index on a tie), so concurrent callers spread over them.
    const order = this.contexts.map((_, c) => c).sort((a, b) => this.busy[a]! - this.busy[b]! || a - b).slice(0, rows.length);
    await Promise.all(order.map(drain));
    return out;
  }

  /** Whether a text alone gets every core now: nothing else encoding, and in auto mode an idle machine. */
  private loneFits(): boolean {
    const lone = this.lone;
    if (!lone || lone.busy || this.busy.some((b) => b > 0)) return false;
    return allCoresForLoneText(lone.mode, loadavg()[0]!);
  }

  private async encodeLone(row: number[]): Promise<Float32Array> {
    const lone = this.lone!;
    lone.busy = true;
    this.lonesRun++;
    try {
      return await this.embed(lone.ctx, row);
    } finally {
      lone.busy = false;
    }
  }

  private async embed(ctx: LlamaEmbeddingContext, row: number[]): Promise<Float32Array> {
    const e = await ctx.getEmbeddingFor(row);
    if (e.vector.length !== this.dim) throw new Error(`llama.cpp returned ${e.vector.length} values, expected ${this.dim}`);
    return l2Normalise(Float32Array.from(e.vector));
  }

  encodeBatch(texts: string[]): Promise<Float32Array[]> {
    return this.encodeTokens(texts.map((t) => this.tokenize(t)));
  }

  async encode(text: string): Promise<Float32Array> {
    const [v] = await this.encodeBatch([text]);
    return v!;
  }

  async close(): Promise<void> {
    await Promise.all([...this.contexts, ...(this.lone ? [this.lone.ctx] : [])].map((c) => c.dispose()));
    await this.model.dispose();
    await this.llama.dispose();
  }
}
