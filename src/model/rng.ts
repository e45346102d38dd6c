/**
 * A small seeded random source (mulberry32). tfjs's own initialisers draw from a global seed that other
 * code can disturb; owning the generator makes initialisation, sampling and dropout seeds reproducible.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The generator's position, for checkpoints: restoring it continues the same sequence. */
  getState(): number {
    return this.state;
  }

  setState(state: number): void {
    this.state = state >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]: log stays finite
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A 31-bit seed for a derived generator (tf.dropout, a sub-component). */
  seed(): number {
    return Math.floor(this.next() * 0x7fffffff);
  }

  /** k distinct indices from [0, n), in ascending order; all of them when k >= n (partial Fisher-Yates). */
  sampleIndices(n: number, k: number): number[] {
    if (k >= n) return Array.from({ length: n }, (_, i) => i);
    const pool = Array.from({ length: n }, (_, i) => i);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const tmp = pool[i] as number;
      pool[i] = pool[j] as number;
      pool[j] = tmp;
    }
    return pool.slice(0, k).sort((a, b) => a - b);
  }
}
