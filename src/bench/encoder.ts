import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { summarise } from './percentiles.js';
import type { LoneTextMode } from '../config/settings.js';
import { log } from '../ops/logger.js';
import type { ContentEncoder } from '../encoder/content-encoder.js';
import { ItemEncoder } from '../encoder/item-encoder.js';
import { loadContentEncoder, type ContentEncoderOptions } from '../encoder/load-encoder.js';
import { itemText, type ItemListingText } from '../encoder/item-text.js';
import type { TokenBatch } from '../encoder/tokenizer.js';

export interface EncoderBenchOptions extends Omit<ContentEncoderOptions, 'model'> {
  /** Default: every encoder the product offers (ENCODER_BENCH_MODELS). */
  models?: string[];
  /** Default [1, 8, 32]. */
  batchSizes?: number[];
  /** Items encoded per batch size and path (default 256; rounded up to whole batches). */
  items?: number;
  /** listings: product listings of about 77 tokens (default); movies: MovieLens-like items of about 38. */
  texts?: BenchTextKind;
}

export const BENCH_TEXT_KINDS = ['listings', 'movies'] as const;
export type BenchTextKind = (typeof BENCH_TEXT_KINDS)[number];

/** Every catalogued encoder, side by side: the ONNX sentence encoders and the GGUF decoder LLM. */
export const ENCODER_BENCH_MODELS = ['all-minilm-l6-v2-q', 'all-minilm-l6-v2', 'bge-small-en-v15-q', 'e5-small-v2-q', 'smollm2-135m', 'smollm2-135m-q8', 'gemma3-270m'];

export interface Throughput {
  itemsPerSec: number;
  /** 1000 / itemsPerSec: wall time per item at this batch size's throughput. */
  msPerItem: number;
  tokensPerSec: number;
  msPerBatch: number;
}

export interface EncoderBenchRow {
  model: string;
  modelId: string;
  dim: number;
  provider: string;
  batchSize: number;
  batches: number;
  meanTokensPerItem: number;
  /** The product's encoder (encodeBatch): tokenise, run, pool, normalise. */
  encoder: Throughput;
  /** Wall time of one encodeBatch call, over the measured batches. */
  p50MsPerBatch: number;
  p99MsPerBatch: number;
  /**
   * Process CPU time per item in encodeBatch (all threads): what an item costs whatever else the machine runs,
   * where wall time on a shared machine also counts the waits for a core.
   */
  cpuMsPerItem: number;
  /** A bare onnxruntime-node session on the same pre-tokenised, padded batches: the floor (ONNX models only). */
  bareOnnx: Throughput | null;
  /** encoder time / bare time: 1.0 means no overhead (ONNX models only). */
  overheadRatio: number | null;
}

export interface EncoderBenchResult {
  bench: 'encoder';
  node: string;
  cpus: number;
  /** 1-minute load average at the start and end: other work on the machine skews absolute numbers (the ratios less). */
  loadAvg: [number, number];
  threads: number | 'default';
  /** LEARN_ENCODER_LONE_TEXT: how an LLM on CPU ran the batches of one. */
  loneText: LoneTextMode;
  texts: BenchTextKind;
  maxTokens: number;
  rows: EncoderBenchRow[];
}

/**
 * Throughput and per-batch latency of each frozen-LM encoder; for ONNX models also against a bare ONNX Runtime
 * session in the same process, both paths run alternately, batch by batch, so drift in machine load hits them alike.
 */
export async function benchEncoder(opts: EncoderBenchOptions): Promise<EncoderBenchResult> {
  const models = opts.models ?? ENCODER_BENCH_MODELS;
  const sizes = opts.batchSizes ?? [1, 8, 32];
  const items = opts.items ?? 256;
  const kind = opts.texts ?? 'listings';
  const texts = (kind === 'movies' ? benchMovieTexts : benchTexts)(Math.max(items, ...sizes));
  const rows: EncoderBenchRow[] = [];
  const loadBefore = round(loadavg()[0]!, 2);
  let maxTokens = 0;
  for (const model of models) {
    const encoder = await loadContentEncoder({ ...opts, model });
    maxTokens = encoder.maxTokens;
    let bare: ort.InferenceSession | undefined;
    if (encoder instanceof ItemEncoder) {
      const sessionOpts: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', executionProviders: [encoder.provider] };
      if (opts.intraOpNumThreads !== undefined) sessionOpts.intraOpNumThreads = opts.intraOpNumThreads;
      bare = await ort.InferenceSession.create(encoder.files.onnxPath, sessionOpts);
    }
    try {
      for (const size of sizes) {
        rows.push(await benchOneSize(encoder, bare, texts, size, Math.ceil(items / size)));
        log('bench.encoder').info({ model, batchSize: size }, 'done');
      }
    } finally {
      await bare?.release();
      await encoder.close();
    }
  }
  const loadAvg: [number, number] = [loadBefore, round(loadavg()[0]!, 2)];
  return { bench: 'encoder', node: process.version, cpus: cpus().length, loadAvg, threads: opts.intraOpNumThreads ?? 'default', loneText: opts.loneText ?? 'auto', texts: kind, maxTokens, rows };
}

async function benchOneSize(
  encoder: ContentEncoder,
  bare: ort.InferenceSession | undefined,
  texts: string[],
  size: number,
  batches: number,
): Promise<EncoderBenchRow> {
  const textBatches: string[][] = [];
  for (let b = 0; b < batches; b++) {
    textBatches.push(Array.from({ length: size }, (_, i) => texts[(b * size + i) % texts.length]!));
  }
  const tokens = textBatches.reduce((n, tb) => n + tb.reduce((a, t) => a + encoder.tokenize(t).length, 0), 0);
  const padded = bare && encoder instanceof ItemEncoder ? textBatches.map((tb) => encoder.tokenizer.pad(tb.map((t) => encoder.tokenize(t)))) : undefined;

  // Warm-up: first runs allocate arenas and pick kernels.
  await encoder.encodeBatch(textBatches[0]!);
  if (bare && padded) await runBare(bare, padded[0]!);

  const batchMs: number[] = [];
  let bareMs = 0;
  let cpuMicros = 0;
  for (let b = 0; b < batches; b++) {
    const cpu0 = process.cpuUsage();
    let t0 = performance.now();
    await encoder.encodeBatch(textBatches[b]!);
    batchMs.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpuMicros += cpu.user + cpu.system;
    if (bare && padded) {
      t0 = performance.now();
      await runBare(bare, padded[b]!);
      bareMs += performance.now() - t0;
    }
  }
  const encoderMs = batchMs.reduce((a, x) => a + x, 0);
  const perBatch = summarise(batchMs);
  const n = batches * size;
  return {
    model: encoder.name,
    modelId: encoder.modelId,
    dim: encoder.dim,
    provider: encoder.provider,
    batchSize: size,
    batches,
    meanTokensPerItem: round(tokens / n),
    encoder: throughput(n, tokens, batches, encoderMs),
    p50MsPerBatch: perBatch.p50Ms,
    p99MsPerBatch: perBatch.p99Ms,
    cpuMsPerItem: round(cpuMicros / 1000 / n),
    bareOnnx: bare ? throughput(n, tokens, batches, bareMs) : null,
    overheadRatio: bare ? round(encoderMs / bareMs, 3) : null,
  };
}

/** The minimal direct use of onnxruntime-node: int64 tensors in, hidden states out, nothing else. */
async function runBare(session: ort.InferenceSession, b: TokenBatch): Promise<void> {
  const dims = [b.batch, b.seq];
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', b.inputIds, dims),
    attention_mask: new ort.Tensor('int64', b.attentionMask, dims),
  };
  if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = new ort.Tensor('int64', b.tokenTypeIds, dims);
  await session.run(feeds);
}

function throughput(items: number, tokens: number, batches: number, ms: number): Throughput {
  return { itemsPerSec: round((items * 1000) / ms), msPerItem: round(ms / items, 2), tokensPerSec: round((tokens * 1000) / ms), msPerBatch: round(ms / batches, 3) };
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Product-like listings of varied length, through the same item template the worker uses. */
export function benchTexts(n: number): string[] {
  const nouns = ['running shoe', 'espresso machine', 'wool sweater', 'gaming mouse', 'yoga mat', 'desk lamp', 'travel backpack', 'cast iron pan'];
  const adjectives = ['lightweight', 'durable', 'compact', 'premium', 'ergonomic', 'waterproof', 'classic', 'adjustable'];
  const brands = ['Acme', 'Northwind', 'Globex', 'Initech', 'Umbrella', 'Hooli'];
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const noun = nouns[i % nouns.length]!;
    const kw = Array.from({ length: 1 + (i % 7) }, (_, k) => adjectives[(i + k) % adjectives.length]!);
    const listing: ItemListingText = {
      item_id: `bench-${i}`,
      title: `${adjectives[i % adjectives.length]} ${noun} model ${i}`,
      category: `Home & Outdoor > ${noun}`,
      brand: brands[i % brands.length]!,
      price: `${(9.99 + i).toFixed(2)} USD`,
      keywords: kw,
      attributes: i % 3 === 0 ? null : kw.map((k) => `${k} design`).slice(0, 1 + (i % 4)),
    };
    out.push(itemText(listing).text);
  }
  return out;
}

/** MovieLens-like items (a title with its year, genres), the replay's short texts, through the same template. */
export function benchMovieTexts(n: number): string[] {
  const words = ['Midnight', 'Return', 'River', 'Stranger', 'Summer', 'City', 'Last', 'Dead', 'Love', 'Ghost', 'Island', 'King'];
  const genres = ['Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime', 'Drama', 'Film-Noir', 'Horror', 'Romance', 'Sci-Fi', 'Thriller'];
  return Array.from({ length: n }, (_, i) => {
    const title = `${words[i % words.length]} ${words[(i * 7 + 3) % words.length]}${i % 4 === 0 ? `, The` : ''} (${1950 + (i % 48)})`;
    const g = Array.from({ length: 1 + (i % 3) }, (_, k) => genres[(i + 5 * k) % genres.length]!);
    return itemText({ item_id: `movie-${i}`, title, category: g.join(', '), brand: null, price: null, keywords: null, attributes: null }).text;
  });
}
