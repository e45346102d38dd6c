/** Ordinary least-squares line through (x, y) points: y = intercept + slope * x. */
export interface Line {
  slope: number;
  intercept: number;
}

/** The least-squares fit; NaN slope with fewer than two distinct x. */
export function leastSquares(xs: readonly number[], ys: readonly number[]): Line {
  if (xs.length !== ys.length) throw new Error(`leastSquares: ${xs.length} x against ${ys.length} y`);
  const n = xs.length;
  const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / n;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  const slope = sxx === 0 ? Number.NaN : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}
