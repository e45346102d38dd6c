import type { PalConfig } from './config.js';
import type { Rng } from './rng.js';

/** An item as the model sees it: its id (for the repeated-item mask) and its frozen content vector. */
export interface ItemRef {
  itemId: string;
  content: Float32Array;
}

/** The items negatives are sampled from (the catalogue so far): random access by index. */
export interface NegativePool {
  readonly size: number;
  at(index: number): ItemRef;
}

/** One user's training example: what came before (oldest first) and the new items to predict. */
export interface UserExample {
  history: readonly ItemRef[];
  targets: readonly ItemRef[];
}

/**
 * A training micro-batch in flat typed arrays, ready to become tensors. Histories are right-aligned (left padding),
 * so every user's last real item sits at position seqLen - 1.
 */
export interface PalBatch {
  users: number;
  seqLen: number;
  contentDim: number;
  /** [users * seqLen * contentDim] */
  historyContent: Float32Array;
  /** [users * seqLen]: 1 real, 0 padding. */
  historyMask: Float32Array;
  /** Slots per user in samplePositions. */
  historySamples: number;
  /** [users * historySamples]: sampled history positions (ascending), -1 for an unused slot. */
  samplePositions: Int32Array;
  /** [targets * contentDim] */
  targetContent: Float32Array;
  /** [targets]: batch row of each target's user. */
  targetUsers: Int32Array;
  /** [targets] */
  targetItems: string[];
  /** [negatives * contentDim]: catalogue items sampled as extra negatives for every positive. */
  negativeContent: Float32Array;
  /** [negatives] */
  negativeItems: string[];
  /** Items the negatives were drawn from (0: none drawn), for the sampling correction (PalConfig.logQ). */
  poolSize: number;
}

/**
 * Builds a batch: histories cut to the last maxHistory items; per user up to N_h history positions, always including
 * the last one (the position that serves the user's vector), the rest drawn uniformly without replacement; up to N_t
 * targets drawn the same way. Examples with an empty history or no targets are left out (they give no positive).
 * With a `pool`, cfg.negativeSamples distinct items are drawn from it uniformly as shared extra negatives.
 */
export function buildPalBatch(
  examples: readonly UserExample[],
  cfg: PalConfig,
  rng: Rng,
  pool?: NegativePool,
  /** Floats per item in the refs: the content width, or 1 for an ID input (the item's table row; see item-input.ts). */
  floatsPerItem = cfg.contentDim,
): PalBatch {
  const dc = floatsPerItem;
  const kept = examples
    .filter((e) => e.history.length > 0 && e.targets.length > 0)
    .map((e) => ({ history: e.history.slice(-cfg.maxHistory), targets: e.targets }));
  const B = kept.length;
  const T = kept.reduce((m, e) => Math.max(m, e.history.length), 0);
  const Nh = cfg.historySamples;
  const historyContent = new Float32Array(B * T * dc);
  const historyMask = new Float32Array(B * T);
  const samplePositions = new Int32Array(B * Nh).fill(-1);
  const chosenTargets: ItemRef[][] = [];
  kept.forEach((e, b) => {
    const offset = T - e.history.length;
    e.history.forEach((item, i) => {
      checkContent(item, dc);
      historyContent.set(item.content, ((b * T) + offset + i) * dc);
      historyMask[b * T + offset + i] = 1;
    });
    const n = e.history.length;
    const others = rng.sampleIndices(n - 1, Nh - 1); // positions before the last
    [...others, n - 1].forEach((p, s) => {
      samplePositions[b * Nh + s] = offset + p;
    });
    chosenTargets.push(rng.sampleIndices(e.targets.length, cfg.targetSamples).map((i) => e.targets[i] as ItemRef));
  });
  const M = chosenTargets.reduce((s, t) => s + t.length, 0);
  const targetContent = new Float32Array(M * dc);
  const targetUsers = new Int32Array(M);
  const targetItems: string[] = [];
  chosenTargets.forEach((targets, b) => {
    for (const item of targets) {
      checkContent(item, dc);
      targetContent.set(item.content, targetItems.length * dc);
      targetUsers[targetItems.length] = b;
      targetItems.push(item.itemId);
    }
  });
  const negatives = pool && B > 0 ? sampleNegatives(pool, cfg.negativeSamples, rng) : [];
  const negativeContent = new Float32Array(negatives.length * dc);
  negatives.forEach((item, k) => {
    checkContent(item, dc);
    negativeContent.set(item.content, k * dc);
  });
  return {
    users: B,
    seqLen: T,
    contentDim: dc,
    historyContent,
    historyMask,
    historySamples: Nh,
    samplePositions,
    targetContent,
    targetUsers,
    targetItems,
    negativeContent,
    negativeItems: negatives.map((n) => n.itemId),
    poolSize: pool && negatives.length > 0 ? pool.size : 0,
  };
}

/**
 * Up to k distinct items drawn uniformly: draws with replacement and skips repeats (the whole pool when it is
 * small), so the cost is O(k) whatever the catalogue size.
 */
function sampleNegatives(pool: NegativePool, k: number, rng: Rng): ItemRef[] {
  if (k <= 0 || pool.size === 0) return [];
  const chosen = new Set<number>();
  if (pool.size <= k) for (let i = 0; i < pool.size; i++) chosen.add(i);
  else for (let tries = 0; chosen.size < k && tries < 4 * k; tries++) chosen.add(rng.int(pool.size));
  return [...chosen].map((i) => pool.at(i));
}

/** Right-aligned padded histories for inference: content [B * T * d_c] and mask [B * T]. */
export function packHistories(
  histories: readonly (readonly Float32Array[])[],
  contentDim: number,
  maxHistory: number,
): { content: Float32Array; mask: Float32Array; seqLen: number } {
  const cut = histories.map((h) => {
    if (h.length === 0) throw new Error('a user vector needs at least one history item');
    return h.slice(-maxHistory);
  });
  const T = cut.reduce((m, h) => Math.max(m, h.length), 0);
  const content = new Float32Array(cut.length * T * contentDim);
  const mask = new Float32Array(cut.length * T);
  cut.forEach((h, b) => {
    const offset = T - h.length;
    h.forEach((v, i) => {
      if (v.length !== contentDim) throw new Error(`content vector has ${v.length} dims, expected ${contentDim}`);
      content.set(v, (b * T + offset + i) * contentDim);
      mask[b * T + offset + i] = 1;
    });
  });
  return { content, mask, seqLen: T };
}

function checkContent(item: ItemRef, dc: number): void {
  if (item.content.length !== dc) throw new Error(`item ${item.itemId}: content has ${item.content.length} dims, expected ${dc}`);
}
