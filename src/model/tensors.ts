/** Plain, backend-free copies of tensors, keyed by a stable name: the unit of checkpoints. */
export interface NamedArray {
  shape: number[];
  values: Float32Array;
}
export type NamedArrays = Record<string, NamedArray>;

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Throws unless `got` has exactly the shape `want` (named for the error message). */
export function checkShape(name: string, want: readonly number[], got: readonly number[]): void {
  if (want.length !== got.length || want.some((d, i) => d !== got[i])) {
    throw new Error(`${name}: expected shape [${want.join(', ')}], got [${got.join(', ')}]`);
  }
}
