import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { log } from '../ops/logger.js';
import { ItemEncoder, type ItemEncoderOptions } from './item-encoder.js';
import { itemText, type ItemListingText } from './item-text.js';
import type { TokenBatch } from './tokenizer.js';

export interface EncoderBenchOptions extends Omit<ItemEncoderOptions, 'model'> {
  /** Default: the int8 and fp32 MiniLM. */
  models?: string[];
  /** Default [1, 8, 32]. */
  batchSizes?: number[];
  /** Items encoded per batch size and path (default 256; rounded up to whole batches). */
  items?: number;
}

export interface Throughput {
  itemsPerSec: number;
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
  /** ItemEncoder.encodeBatch: tokenise, pad, run, pool, normalise. */
  encoder: Throughput;
  /** A bare onnxruntime-node session on the same pre-tokenised, padded batches: the floor. */
  bareOnnx: Throughput;
  /** encoder time / bare time: 1.0 means no overhead. */
  overheadRatio: number;
}

export interface EncoderBenchResult {
  bench: 'encoder';
  node: string;
  cpus: number;
  /** 1-minute load average at the start and end: other work on the machine skews absolute numbers (the ratios less). */
  loadAvg: [number, number];
  threads: number | 'default';
  maxTokens: number;
  rows: EncoderBenchRow[];
}

/**
 * Throughput of the frozen-LM encoder against a bare ONNX Runtime session in the same process.
 * Both paths run alternately, batch by batch, so drift in machine load hits them alike.
 */
export async function benchEncoder(opts: EncoderBenchOptions): Promise<EncoderBenchResult> {
  const models = opts.models ?? ['all-minilm-l6-v2-q', 'all-minilm-l6-v2'];
  const sizes = opts.batchSizes ?? [1, 8, 32];
  const items = opts.items ?? 256;
  const texts = benchTexts(Math.max(items, ...sizes));
  const rows: EncoderBenchRow[] = [];
  const loadBefore = round(loadavg()[0]!, 2);
  let maxTokens = 0;
  for (const model of models) {
    const encoder = await ItemEncoder.load({ ...opts, model });
    maxTokens = encoder.maxTokens;
    const sessionOpts: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', executionProviders: [encoder.provider] };
    if (opts.intraOpNumThreads !== undefined) sessionOpts.intraOpNumThreads = opts.intraOpNumThreads;
    const bare = await ort.InferenceSession.create(encoder.files.onnxPath, sessionOpts);
    try {
      for (const size of sizes) {
        rows.push(await benchOneSize(encoder, bare, texts, size, Math.ceil(items / size)));
        log('bench.encoder').info({ model, batchSize: size }, 'done');
      }
    } finally {
      await bare.release();
      await encoder.close();
    }
  }
  const loadAvg: [number, number] = [loadBefore, round(loadavg()[0]!, 2)];
  return { bench: 'encoder', node: process.version, cpus: cpus().length, loadAvg, threads: opts.intraOpNumThreads ?? 'default', maxTokens, rows };
}

async function benchOneSize(
  encoder: ItemEncoder,
  bare: ort.InferenceSession,
  texts: string[],
  size: number,
  batches: number,
): Promise<EncoderBenchRow> {
  const textBatches: string[][] = [];
  for (let b = 0; b < batches; b++) {
    textBatches.push(Array.from({ length: size }, (_, i) => texts[(b * size + i) % texts.length]!));
  }
  const tokenBatches = textBatches.map((tb) => encoder.tokenizer.pad(tb.map((t) => encoder.tokenize(t))));
  const tokens = tokenBatches.reduce((n, tb) => n + tb.lengths.reduce((a, l) => a + l, 0), 0);

  // Warm-up: first runs allocate arenas and pick kernels.
  await encoder.encodeBatch(textBatches[0]!);
  await runBare(bare, tokenBatches[0]!);

  let encoderMs = 0;
  let bareMs = 0;
  for (let b = 0; b < batches; b++) {
    let t0 = performance.now();
    await encoder.encodeBatch(textBatches[b]!);
    encoderMs += performance.now() - t0;
    t0 = performance.now();
    await runBare(bare, tokenBatches[b]!);
    bareMs += performance.now() - t0;
  }
  const n = batches * size;
  return {
    model: encoder.manifest.name,
    modelId: encoder.modelId,
    dim: encoder.dim,
    provider: encoder.provider,
    batchSize: size,
    batches,
    meanTokensPerItem: round(tokens / n),
    encoder: throughput(n, tokens, batches, encoderMs),
    bareOnnx: throughput(n, tokens, batches, bareMs),
    overheadRatio: round(encoderMs / bareMs, 3),
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
  return { itemsPerSec: round((items * 1000) / ms), tokensPerSec: round((tokens * 1000) / ms), msPerBatch: round(ms / batches, 3) };
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
