import * as tf from '@tensorflow/tfjs';
import { performance } from 'node:perf_hooks';
import { selectBackend, type BackendChoice } from '../model/backend.js';
import { buildPalBatch, type PalBatch, type UserExample } from '../model/batch.js';
import { palConfig, type PalConfig } from '../model/config.js';
import { PalLearner } from '../model/learner.js';
import { Rng } from '../model/rng.js';
import { TorchReference, type TorchStep } from './torch-reference.js';

export interface TrainerBenchOptions {
  backend?: BackendChoice;
  /** wasm: XNNPACK threads (default 1: see BackendOptions). */
  threads?: number;
  /** Model sizes; defaults are the product defaults. */
  config?: Partial<PalConfig>;
  usersPerBatch?: number;
  /** Targets (window events) per user: 4 x 64 users is a busy 256-event window. */
  targetsPerUser?: number;
  /** Timed steps on the selected backend (after warm-up). */
  steps?: number;
  /** Timed steps on the cpu backend for the ratio; 0 skips it. */
  cpuSteps?: number;
  warmupSteps?: number;
  seed?: number;
  /** Also time the same step in PyTorch (bench/reference/pal_step.py), alternating with the product's steps. */
  reference?: 'torch';
  /** PyTorch intra-op thread counts to time, each alternating with the product's step. */
  referenceThreads?: readonly number[];
}

export interface StepTiming {
  backend: string;
  steps: number;
  msPerStep: number;
  stepsPerSec: number;
  /** User sequences trained per second. */
  examplesPerSec: number;
  /** Target events (the window's new events the step learns from) per second: the trainer's events/s at this batch shape. */
  eventsPerSec: number;
  /** (history position, target) positive pairs per second. */
  positivePairsPerSec: number;
  finalLoss: number;
  /** Median step time: the robust figure on a shared machine (the ratios use it). */
  medianMsPerStep: number;
}

export interface InferenceTiming {
  items: number;
  itemVectorsMs: number;
  itemVectorsPerSec: number;
  users: number;
  historyLength: number;
  userVectorsMs: number;
  userVectorsPerSec: number;
}

/** The same step in PyTorch CPU at one thread count, timed alternately with the product's. */
export interface ReferenceTiming {
  framework: 'torch';
  version: string;
  threads: number;
  steps: number;
  msPerStep: number;
  medianMsPerStep: number;
  eventsPerSec: number;
  finalLoss: number;
  /** Product steps/s over PyTorch steps/s (medians): >= 1 means the product is at least as fast. */
  productOverTorch: number;
}

export interface TrainerBench {
  backend: string;
  threads: number;
  config: PalConfig;
  usersPerBatch: number;
  historyLength: number;
  targetsPerUser: number;
  negativesPerStep: number;
  selected: StepTiming;
  cpu: StepTiming | null;
  /** selected steps/s over cpu steps/s. */
  speedupVsCpu: number | null;
  /** Inference at serving shapes: a 1,682-item catalogue (ML-100K) and 64 histories of maxHistory items. */
  inference: InferenceTiming;
  /** PyTorch on the same cores in the same run, one entry per thread count (absent without --reference). */
  reference: ReferenceTiming[] | null;
  peakRssMb: number;
}

/**
 * Micro-benchmark of one training step (forward, loss, backward, AdamW) at the configured sizes on synthetic data:
 * full-length histories, `targetsPerUser` targets each and cfg.negativeSamples catalogue negatives, on the selected backend and on the pure-JS cpu backend.
 * Leaves the selected backend active.
 */
export async function benchTrainer(opts: TrainerBenchOptions = {}): Promise<TrainerBench> {
  const cfg = palConfig(opts.config);
  const users = opts.usersPerBatch ?? 64;
  const seed = opts.seed ?? 7;
  const chosen = await selectBackend(opts.backend ?? 'auto', opts.threads !== undefined ? { threads: opts.threads } : {});
  const targets = opts.targetsPerUser ?? 4;
  const batches = syntheticBatches(cfg, users, targets, 4, seed);
  const torch = opts.reference === 'torch' ? await TorchReference.start(cfg, users, targets) : undefined;
  const referenceThreads = opts.referenceThreads ?? [2, 1];
  const torchSteps = new Map<number, TorchStep[]>(referenceThreads.map((t) => [t, []]));
  let selected: StepTiming;
  try {
    // Between two product steps, one PyTorch step per thread count: both see the same load on a shared machine.
    const between = torch
      ? async (timed: boolean) => {
          for (const t of referenceThreads) {
            const r = await torch.step(t);
            if (timed) torchSteps.get(t)?.push(r);
          }
        }
      : undefined;
    selected = await timeSteps(cfg, batches, opts.steps ?? 10, opts.warmupSteps ?? 2, seed, chosen.tfBackend, between);
  } finally {
    torch?.close();
  }
  const inference = timeInference(cfg, users, seed);
  let cpu: StepTiming | null = null;
  const cpuSteps = opts.cpuSteps ?? 2;
  if (cpuSteps > 0 && chosen.tfBackend !== 'cpu') {
    await selectBackend('cpu');
    try {
      cpu = await timeSteps(cfg, batches, cpuSteps, 1, seed, 'cpu');
    } finally {
      await selectBackend(chosen.choice);
    }
  }
  return {
    backend: chosen.choice,
    threads: chosen.threads,
    config: cfg,
    usersPerBatch: users,
    historyLength: cfg.maxHistory,
    targetsPerUser: targets,
    negativesPerStep: batches[0]?.negativeItems.length ?? 0,
    selected,
    cpu,
    speedupVsCpu: cpu ? round(selected.stepsPerSec / cpu.stepsPerSec, 2) : chosen.tfBackend === 'cpu' ? 1 : null,
    inference,
    reference: torch
      ? referenceThreads.map((threads) => referenceTiming(torch.version, threads, torchSteps.get(threads) ?? [], targets * users, selected))
      : null,
    peakRssMb: round(process.resourceUsage().maxRSS / 1024, 1),
  };
}

/** Times `steps` product steps after `warmup`; `between` runs after each step, outside the timed span. */
async function timeSteps(
  cfg: PalConfig,
  batches: PalBatch[],
  steps: number,
  warmup: number,
  seed: number,
  backend: string,
  between?: (timed: boolean) => Promise<void>,
): Promise<StepTiming> {
  const learner = new PalLearner(cfg, seed);
  try {
    let loss = 0;
    for (let i = 0; i < warmup; i++) {
      learner.trainStep(batches[i % batches.length] as PalBatch);
      await between?.(false);
    }
    let pairs = 0;
    let examples = 0;
    let events = 0;
    const stepMs: number[] = [];
    for (let i = 0; i < steps; i++) {
      const batch = batches[i % batches.length] as PalBatch;
      const t0 = performance.now();
      loss = learner.trainStep(batch);
      stepMs.push(performance.now() - t0);
      examples += batch.users;
      events += batch.targetItems.length;
      pairs += positivePairs(batch);
      await between?.(true);
    }
    const seconds = stepMs.reduce((a, b) => a + b, 0) / 1000;
    return {
      backend,
      steps,
      msPerStep: round((seconds * 1000) / steps, 1),
      stepsPerSec: round(steps / seconds, 3),
      examplesPerSec: round(examples / seconds, 1),
      eventsPerSec: round(events / seconds, 1),
      positivePairsPerSec: round(pairs / seconds, 0),
      finalLoss: round(loss, 4),
      medianMsPerStep: round(median(stepMs), 1),
    };
  } finally {
    learner.dispose();
  }
}

/** Median time of PalLearner.itemVectors over a catalogue and userVectors over full histories (after a warm-up). */
function timeInference(cfg: PalConfig, users: number, seed: number, repeats = 5): InferenceTiming {
  const rng = new Rng(seed + 1);
  const vector = () => Float32Array.from({ length: cfg.contentDim }, () => rng.normal() / Math.sqrt(cfg.contentDim));
  const items = Array.from({ length: 1682 }, vector);
  const histories = Array.from({ length: users }, () => Array.from({ length: cfg.maxHistory }, vector));
  const learner = new PalLearner(cfg, seed);
  try {
    const timeOf = (f: () => void): number => {
      f();
      const ms: number[] = [];
      for (let i = 0; i < repeats; i++) {
        const t0 = performance.now();
        f();
        ms.push(performance.now() - t0);
      }
      return median(ms);
    };
    const itemMs = timeOf(() => learner.itemVectors(items));
    const userMs = timeOf(() => learner.userVectors(histories));
    return {
      items: items.length,
      itemVectorsMs: round(itemMs, 1),
      itemVectorsPerSec: round((items.length * 1000) / itemMs, 0),
      users,
      historyLength: cfg.maxHistory,
      userVectorsMs: round(userMs, 1),
      userVectorsPerSec: round((users * 1000) / userMs, 0),
    };
  } finally {
    learner.dispose();
  }
}

function referenceTiming(version: string, threads: number, steps: readonly TorchStep[], eventsPerStep: number, product: StepTiming): ReferenceTiming {
  const ms = steps.map((s) => s.ms);
  const mean = ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length);
  const med = median(ms);
  return {
    framework: 'torch',
    version,
    threads,
    steps: ms.length,
    msPerStep: round(mean, 1),
    medianMsPerStep: round(med, 1),
    eventsPerSec: round((eventsPerStep * 1000) / med, 1),
    finalLoss: round(steps.at(-1)?.loss ?? 0, 4),
    productOverTorch: round(med / product.medianMsPerStep, 3),
  };
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function positivePairs(batch: PalBatch): number {
  let n = 0;
  for (let b = 0; b < batch.users; b++) {
    let h = 0;
    for (let s = 0; s < batch.historySamples; s++) if ((batch.samplePositions[b * batch.historySamples + s] as number) >= 0) h++;
    let t = 0;
    for (const u of batch.targetUsers) if (u === b) t++;
    n += h * t;
  }
  return n;
}

/** Random unit content vectors for a catalogue; users with full histories and `targets` targets each. */
function syntheticBatches(cfg: PalConfig, users: number, targets: number, count: number, seed: number): PalBatch[] {
  const rng = new Rng(seed);
  const catalogue = Array.from({ length: 2000 }, (_, i) => {
    const v = new Float32Array(cfg.contentDim);
    let norm = 0;
    for (let k = 0; k < v.length; k++) {
      v[k] = rng.normal();
      norm += (v[k] as number) ** 2;
    }
    for (let k = 0; k < v.length; k++) v[k] = (v[k] as number) / Math.sqrt(norm);
    return { itemId: `i${i}`, content: v };
  });
  const pick = () => catalogue[rng.int(catalogue.length)] as (typeof catalogue)[number];
  return Array.from({ length: count }, () => {
    const examples: UserExample[] = Array.from({ length: users }, () => ({
      history: Array.from({ length: cfg.maxHistory }, pick),
      targets: Array.from({ length: targets }, pick),
    }));
    return buildPalBatch(examples, cfg, rng, { size: catalogue.length, at: (i) => catalogue[i] as (typeof catalogue)[number] });
  });
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
