import { Option, type Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { intOption, subgroup } from '../options.js';
import { BENCH_TEXT_KINDS, benchEncoder, ENCODER_BENCH_MODELS, type BenchTextKind } from '../../bench/encoder.js';
import { benchEncoderLatency } from '../../bench/encoder-latency.js';
import { DEFAULT_MODEL } from '../../encoder/catalog.js';
import { encoderOptionsFrom, modelsDirFrom } from '../../encoder/encoder-config.js';
import { fetchEncoderModel, loadContentEncoder, type FetchedModel } from '../../encoder/load-encoder.js';
import { registerModelDir } from '../../encoder/model-fetch.js';
import { POOLING_MODES, type Pooling } from '../../encoder/pooling.js';

/** `learn models fetch`, `learn embed`, `learn bench encoder`: the frozen LM by hand. */
export function registerEncoder(program: Command): void {
  const models = subgroup(program, 'models', 'frozen language models for item text');
  models
    .command('fetch [name]')
    .description(`fetch a model into the cache once (default LEARN_MODEL, else ${DEFAULT_MODEL}), or register a local ONNX export`)
    .option('--dir <path>', 'a folder holding model.onnx (or onnx/model.onnx) and tokenizer.json')
    .addOption(new Option('--pooling <mode>', 'pooling recorded for a --dir model').choices([...POOLING_MODES]))
    .option('--verify', 're-hash a cached model and fetch again on mismatch')
    .action(async (name: string | undefined, opts: { dir?: string; pooling?: Pooling; verify?: boolean }) => {
      const cfg = loadConfig();
      const fetchOpts = { modelsDir: modelsDirFrom(cfg), verify: opts.verify ?? false, python: cfg.pythonBin, ...(opts.pooling ? { pooling: opts.pooling } : {}) };
      let fetched: FetchedModel;
      if (opts.dir) {
        const m = (await registerModelDir(opts.dir, fetchOpts)).manifest;
        fetched = { name: m.name, modelId: m.modelId, dir: opts.dir, source: opts.dir, sha256: m.sha256, dim: m.hiddenSize, pooling: m.pooling, maxTokens: m.maxTokens };
      } else {
        fetched = await fetchEncoderModel(name ?? cfg.encoderModel, fetchOpts);
      }
      process.stdout.write(
        `model    ${fetched.modelId}\nsource   ${fetched.source}\ndim      ${fetched.dim ?? 'read from the model when it loads'}\n` +
          (fetched.pooling ? `pooling  ${fetched.pooling}\nmaxTok   ${fetched.maxTokens}\n` : '') +
          `sha256   ${fetched.sha256}\nfolder   ${fetched.dir}\n`,
      );
    });

  program
    .command('embed <text>')
    .description('encode one text with the frozen LM and show the vector')
    .option('--model <name>', 'model name or folder (default LEARN_MODEL)')
    .option('--json', 'print the full vector as JSON')
    .action(async (text: string, opts: { model?: string; json?: boolean }) => {
      const encoder = await loadContentEncoder(encoderOptionsFrom(loadConfig(), opts.model));
      try {
        const v = await encoder.encode(text);
        const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ model: encoder.modelId, dim: v.length, norm, vector: Array.from(v) })}\n`);
        } else {
          const head = Array.from(v.subarray(0, 8), (x) => x.toFixed(5)).join(', ');
          process.stdout.write(`model  ${encoder.modelId}\ndim    ${v.length}\nnorm   ${norm.toFixed(6)}\nfirst8 [${head}]\n`);
        }
      } finally {
        await encoder.close();
      }
    });

  subgroup(program, 'bench', 'benchmarks that print JSON')
    .command('encoder')
    .description('frozen-LM throughput (items/s, tokens/s) and p50/p99 per batch of every encoder, ONNX ones beside a bare ONNX Runtime session')
    .option('--models <list>', 'comma-separated models', ENCODER_BENCH_MODELS.join(','))
    .option('--batch-sizes <list>', 'comma-separated batch sizes', '1,8,32')
    .option('--items <n>', 'items per batch size and path', '256')
    .option('--texts <kind>', `${BENCH_TEXT_KINDS.join('|')}: product listings (~77 tokens) or MovieLens-like items (~38)`, 'listings')
    .option('--latency-listings <n>', 'listings sent through the real broker for the latency part (0 skips it)', '200')
    .option('--latency-rate <n>', 'listings per second for the latency part', '20')
    .action(async (opts: { models: string; batchSizes: string; items: string; texts: string; latencyListings: string; latencyRate: string }) => {
      if (!(BENCH_TEXT_KINDS as readonly string[]).includes(opts.texts)) throw new Error(`--texts: expected ${BENCH_TEXT_KINDS.join('|')}, got "${opts.texts}"`);
      const cfg = loadConfig();
      const { model: _model, ...base } = encoderOptionsFrom(cfg);
      const throughput = await benchEncoder({
        ...base,
        models: opts.models.split(',').map((s) => s.trim()).filter((s) => s.length > 0),
        batchSizes: opts.batchSizes.split(',').map((s) => intOption('--batch-sizes')(s)),
        items: intOption('--items')(opts.items),
        texts: opts.texts as BenchTextKind,
      });
      const n = intOption('--latency-listings', 0)(opts.latencyListings);
      const latency = n > 0 ? await benchEncoderLatency(cfg, n, intOption('--latency-rate')(opts.latencyRate)) : null;
      process.stdout.write(`${JSON.stringify({ ...throughput, brokerLatency: latency }, null, 2)}\n`);
    });
}

/** A parent command shared with other groups (e.g. `bench`): reuse it when another file made it first. */
