import { selectBackend } from '../../src/model/backend.js';
import { palConfig, type PalConfig } from '../../src/model/config.js';
import { Rng } from '../../src/model/rng.js';

/** The tests run on wasm, the backend CI has (two cores, nothing native). */
export async function useWasm(): Promise<void> {
  await selectBackend('wasm');
}

/** A model small enough for unit tests, dropout off so outputs are comparable. */
export function tinyConfig(overrides: Partial<PalConfig> = {}): PalConfig {
  return palConfig({
    contentDim: 12,
    dim: 16,
    layers: 2,
    heads: 2,
    outDim: 8,
    maxHistory: 8,
    dropout: 0,
    historySamples: 3,
    targetSamples: 2,
    ...overrides,
  });
}

export function randomUnit(rng: Rng, dim: number): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let i = 0; i < dim; i++) {
    v[i] = rng.normal();
    n += (v[i] as number) ** 2;
  }
  for (let i = 0; i < dim; i++) v[i] = (v[i] as number) / Math.sqrt(n);
  return v;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}
