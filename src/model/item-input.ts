import * as tf from '@tensorflow/tfjs';
import type { PalParameter } from './pal-model.js';
import type { Rng } from './rng.js';

/**
 * What the tower reads for an item (the swappable item input of one learner): its frozen content vector (LEARN), or a
 * trainable ID embedding (the SASRec-like baseline). A batch carries each item as `floatsPerItem` floats: the content
 * vector itself, or one float holding the item's table row.
 */
export interface ItemInput {
  readonly floatsPerItem: number;
  /** Trainable weights of the input (none for frozen content), optimised with the tower. */
  parameters(): readonly PalParameter[];
  /** The tower's inputs [rows, tower input width] for `rows` items packed in `flat`; differentiable w.r.t. parameters(). */
  embed(flat: Float32Array, rows: number): tf.Tensor2D;
  dispose(): void;
}

/** Frozen content vectors of `dim` floats: the tower reads them as they are. */
export function frozenContent(dim: number): ItemInput {
  return {
    floatsPerItem: dim,
    parameters: () => [],
    embed: (flat, rows) => tf.tensor2d(flat, [rows, dim]),
    dispose: () => undefined,
  };
}

// tfjs variable names are global to the engine: a counter keeps several tables apart.
let tableCounter = 0;

/**
 * A trainable embedding table of `rows` + 1 rows (row 0 is padding, all zeros), initialised to rows of about unit norm
 * like the L2-normalised content vectors they stand in for. A batch carries an item as one float: its row. Training
 * gathers rows inside the gradient: on wasm that needs the UnsortedSegmentSum kernel selectBackend registers.
 */
export function idEmbeddings(rows: number, dim: number, rng: Rng): ItemInput {
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`rows must be a positive integer, got ${rows}`);
  const init = new Float32Array((rows + 1) * dim);
  for (let i = dim; i < init.length; i++) init[i] = rng.normal() / Math.sqrt(dim);
  const table = tf.variable(tf.tensor2d(init, [rows + 1, dim]), true, `ids${tableCounter++}/item_embeddings`);
  const params: PalParameter[] = [{ name: 'item_embeddings', variable: table, decay: false }];
  return {
    floatsPerItem: 1,
    parameters: () => params,
    embed: (flat, n) => tf.gather(table, tf.tensor1d(Int32Array.from(flat.subarray(0, n)), 'int32')) as tf.Tensor2D,
    dispose: () => table.dispose(),
  };
}
