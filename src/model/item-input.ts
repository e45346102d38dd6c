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
  /**
   * Makes room for `rows` table rows where the input's table grows (the hybrid input); true when a parameter changed
   * shape, so the optimizer must resize its moments. Absent: a fixed-size input.
   */
  reserve?(rows: number): boolean;
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

/** The floats of one item for the hybrid input: its content, its residual row (0: none) and its gate in [0, 1]. */
export function hybridFloats(content: Float32Array, row: number, gate: number): Float32Array {
  const out = new Float32Array(content.length + 2);
  out.set(content);
  out[content.length] = row;
  out[content.length + 1] = gate;
  return out;
}

// The hybrid table starts this small and doubles: its gradient is dense over the table, so it stays near the items in use.
const HYBRID_INITIAL_ROWS = 256;

/**
 * Content plus a learned per-item residual, gated: the tower reads content + gate * residual[row], the residual in the
 * content's own space (the adapter maps both). A batch carries an item as `dim` + 2 floats (hybridFloats): content,
 * row (0 is padding: no residual) and gate (whoever packs the batch sets it, min(1, interactions / k)). Residuals
 * start at zero, so a new item is its content alone; the table grows by doubling up to `maxRows` rows (+ padding).
 */
export function hybridResiduals(dim: number, maxRows: number): ItemInput {
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows must be a positive integer, got ${maxRows}`);
  const id = tableCounter++;
  let version = 0;
  const create = (rows: number, from?: tf.Variable): tf.Variable =>
    tf.tidy(() => {
      const fresh = tf.zeros([rows + 1, dim]);
      const init = from ? tf.concat([from, tf.slice(fresh, [0, 0], [rows + 1 - from.shape[0]!, dim])], 0) : fresh;
      return tf.variable(init, true, `hybrid${id}/item_residuals#${version++}`);
    });
  const param: PalParameter = { name: 'item_residuals', variable: create(Math.min(HYBRID_INITIAL_ROWS, maxRows)), decay: false };
  const params = [param];
  return {
    floatsPerItem: dim + 2,
    parameters: () => params,
    embed: (flat, n) =>
      tf.tidy(() => {
        const all = tf.tensor2d(flat.subarray(0, n * (dim + 2)), [n, dim + 2]);
        const content = tf.slice(all, [0, 0], [n, dim]);
        const rows = tf.cast(tf.reshape(tf.slice(all, [0, dim], [n, 1]), [n]), 'int32');
        const gate = tf.slice(all, [0, dim + 1], [n, 1]);
        return tf.add(content, tf.mul(gate, tf.gather(param.variable, rows))) as tf.Tensor2D;
      }),
    reserve: (rows) => {
      const want = Math.min(rows, maxRows);
      const have = param.variable.shape[0]! - 1;
      if (want <= have) return false;
      let next = have;
      while (next < want) next *= 2;
      const old = param.variable;
      param.variable = create(Math.min(next, maxRows), old);
      old.dispose();
      return true;
    },
    dispose: () => param.variable.dispose(),
  };
}
