import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteKeysUnder } from '../../src/store/drop-prefix.js';

export { rng } from '../support/random.js';

/** A key prefix no other suite or run uses, so tests share the stack's Redis without colliding. */
export function uniquePrefix(label: string): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix` (SCAN + UNLINK). */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    await deleteKeysUnder(r, prefix);
  } finally {
    r.disconnect();
  }
}

/** A plain client for checks by a path independent of the store's own reader. */
export async function plainClient(url: string): Promise<Redis> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
  } catch (err) {
    r.disconnect();
    throw err;
  }
  return r;
}

/** Decodes float32 little-endian bytes with a DataView, independently of src/store/vector-codec.ts. */
export function decodeWithDataView(bytes: Buffer): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let off = 0; off < bytes.byteLength; off += 4) out.push(view.getFloat32(off, true));
  return out;
}


export function randomVector(dim: number, next: () => number): Float32Array {
  return Float32Array.from({ length: dim }, () => next() * 2 - 1);
}

export const filled = (dim: number, value: number): Float32Array => new Float32Array(dim).fill(value);

export async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
