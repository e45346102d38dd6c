import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rankAt, type OperatingPoint } from '../../src/replay/operating-points.js';
import { scoreRows } from '../../src/replay/scoring.js';
import { rng } from '../support/random.js';

// The replay's ranks must not move when its scoring gets faster: each fast path is held to the plain loop it replaced,
// bit for bit, on random data with ties, NaNs and exclusions.

/** One row at a time, one float64 sum per row (the loop scoreRows unrolled). */
function oneRowAtATime(matrix: Float32Array, n: number, dim: number, query: Float32Array): Float32Array {
  const out = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += (matrix[r * dim + j] as number) * (query[j] as number);
    out[r] = s;
  }
  return out;
}

/** rankAt's general path without gate or slots: a closure per candidate, the target skipped. */
function closureRank(base: Float32Array, prior: Float32Array, content: Float32Array | undefined, p: OperatingPoint, target: number, excluded: Uint8Array): number {
  const useContent = p.contentWeight !== 0 && content !== undefined;
  const score = (j: number): number => (base[j] as number) + p.beta * (prior[j] as number) + (useContent ? p.contentWeight * (content[j] as number) : 0);
  const s = score(target);
  if (Number.isNaN(s)) return base.length - [...excluded].filter((x, j) => x === 1 && j !== target).length;
  let ahead = 0;
  for (let j = 0; j < base.length; j++) if (j !== target && excluded[j] !== 1 && score(j) >= s) ahead++;
  return 1 + ahead;
}

test('scoreRows: every score bit-identical to one float64 sum per row, whatever n modulo 4', () => {
  const next = rng(25);
  for (const [n, dim] of [[0, 8], [1, 3], [7, 5], [1683, 64], [1001, 384]] as const) {
    const matrix = Float32Array.from({ length: n * dim }, () => next() - 0.5);
    const query = Float32Array.from({ length: dim }, () => next() - 0.5);
    assert.deepEqual(scoreRows(matrix, n, dim, query), oneRowAtATime(matrix, n, dim, query), `n ${n}, dim ${dim}`);
  }
});

test('rankAt at a point without gate or slots: the same rank as the closure path, ties, NaNs and exclusions included', () => {
  const next = rng(7);
  const points: OperatingPoint[] = [{ beta: 0, contentWeight: 0 }, { beta: 0.3, contentWeight: 0.2 }, { beta: 1, contentWeight: 0 }, { beta: 0.05, contentWeight: 1 }];
  let cases = 0;
  for (let round = 0; round < 300; round++) {
    const n = 1 + Math.floor(next() * 60);
    // Coarse values make ties common; a few NaNs stand in for a broken score.
    const value = (): number => (next() < 0.03 ? Number.NaN : Math.round(next() * 8) / 8);
    const base = Float32Array.from({ length: n }, value);
    const prior = Float32Array.from({ length: n }, () => Math.round(next() * 4) / 4);
    const content = next() < 0.5 ? Float32Array.from({ length: n }, value) : undefined;
    const excluded = Uint8Array.from({ length: n }, () => (next() < 0.2 ? 1 : 0));
    const target = Math.floor(next() * n);
    for (const p of points) {
      const terms = content ? { prior, content } : { prior };
      assert.equal(rankAt(base, terms, p, target, excluded), closureRank(base, prior, content, p, target, excluded), `round ${round}, point ${JSON.stringify(p)}`);
      cases++;
    }
  }
  assert.equal(cases, 1200);
});
