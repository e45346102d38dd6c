import { loadConfig, type Config } from '../config/load.js';

/** Sizes and training hyperparameters of the preference-alignment (PAL) tower and its loss. */
export interface PalConfig {
  /** Content vector width from the frozen LM (384 for MiniLM). */
  contentDim: number;
  /** Transformer width. */
  dim: number;
  layers: number;
  heads: number;
  /** Feed-forward hidden width (4 x dim by convention). */
  ffDim: number;
  /** Output (served) vector width. */
  outDim: number;
  /** Longest history the tower reads; also the size of the learned position table. */
  maxHistory: number;
  dropout: number;
  /** History positions sampled per user for the all-action loss. */
  historySamples: number;
  /** Target items sampled per user for the all-action loss. */
  targetSamples: number;
  /** Catalogue items sampled per step as extra negatives (0: in-batch negatives only). */
  negativeSamples: number;
  temperature: number;
  learningRate: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0 turns clipping off. */
  clipNorm: number;
  /**
   * Weight of the sampling-bias (logQ) correction: each candidate's logit minus logQ * log(its expected count among a
   * step's candidates), so popularity stays out of the vectors (0: off). A checkpoint without it takes the setting;
   * one with it keeps its own, like the other hyperparameters.
   */
  logQ?: number;
  /**
   * Weight of the uniformity term (loss.ts uniformityLoss) on the step's item-tower and user-tower outputs, against
   * outputs that collapse onto one direction (0: off). Optional like logQ: a checkpoint without it takes the setting.
   */
  uniformity?: number;
}

/** The tower's settings (src/config/settings.ts, the one place defaults live) for content vectors of `contentDim` values. */
function fromSettings(cfg: Config, contentDim: number): PalConfig {
  return {
    contentDim,
    dim: cfg.palDim,
    layers: cfg.palLayers,
    heads: cfg.palHeads,
    ffDim: 4 * cfg.palDim,
    outDim: cfg.palOutDim,
    maxHistory: cfg.historyLen,
    dropout: cfg.dropout,
    historySamples: cfg.historySamples,
    targetSamples: cfg.targetSamples,
    negativeSamples: cfg.negativeSamples,
    temperature: cfg.temperature,
    learningRate: cfg.learningRate,
    weightDecay: cfg.weightDecay,
    clipNorm: cfg.clipNorm,
    logQ: cfg.logQ,
    uniformity: cfg.uniformity,
  };
}

/** The settings' defaults, for a 384-d content model (MiniLM). */
export const DEFAULT_PAL_CONFIG: PalConfig = checked(fromSettings(loadConfig({}), 384));

/** Defaults with overrides, checked for the shapes the tower needs (the feed-forward width follows dim: 4 x dim). */
export function palConfig(overrides: Partial<PalConfig> = {}): PalConfig {
  const dim = overrides.dim ?? DEFAULT_PAL_CONFIG.dim;
  return checked({ ...DEFAULT_PAL_CONFIG, ffDim: 4 * dim, ...overrides });
}

/** The model config from the program's settings; the content width comes from the encoder's model. */
export function palConfigFromConfig(cfg: Config, contentDim: number): PalConfig {
  return checked(fromSettings(cfg, contentDim));
}

function checked(cfg: PalConfig): PalConfig {
  if (cfg.dim % cfg.heads !== 0) throw new Error(`PAL dim ${cfg.dim} is not divisible by heads ${cfg.heads}`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new Error(`PAL dropout ${cfg.dropout} is outside [0, 1)`);
  for (const k of ['contentDim', 'dim', 'layers', 'heads', 'ffDim', 'outDim', 'maxHistory', 'historySamples', 'targetSamples'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] <= 0) throw new Error(`PAL ${k} must be a positive integer, got ${cfg[k]}`);
  }
  if (!Number.isInteger(cfg.negativeSamples) || cfg.negativeSamples < 0) throw new Error(`PAL negativeSamples must be an integer >= 0, got ${cfg.negativeSamples}`);
  if (!((cfg.logQ ?? 0) >= 0)) throw new Error(`PAL logQ must be >= 0, got ${cfg.logQ}`);
  if (!((cfg.uniformity ?? 0) >= 0)) throw new Error(`PAL uniformity must be >= 0, got ${cfg.uniformity}`);
  return cfg;
}
