import { endianness } from 'node:os';

/**
 * The one vector codec: float32, little-endian, no header, everywhere a vector is bytes (ItemContent on Kafka, Redis
 * values, the serving index). The dimension travels beside it (ItemContent.dim, the version's meta hash).
 */
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

export function encodeVector(v: Float32Array): Buffer {
  if (LITTLE_ENDIAN_HOST) return Buffer.from(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  const out = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) out.writeFloatLE(v[i] ?? 0, i * 4);
  return out;
}

/** Decodes into a fresh Float32Array (Buffers from ioredis may sit at offsets that are not 4-aligned). */
export function decodeVector(bytes: Buffer): Float32Array {
  if (bytes.length % 4 !== 0) throw new Error(`vector bytes: length ${bytes.length} is not a multiple of 4`);
  const out = new Float32Array(bytes.length / 4);
  decodeVectorInto(bytes, out, 0);
  return out;
}

/** Decodes into `target` at element offset `at` (one row of an index matrix) without an intermediate array. */
export function decodeVectorInto(bytes: Buffer, target: Float32Array, at: number): void {
  const n = bytes.length >>> 2;
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 4 === 0) {
    target.set(new Float32Array(bytes.buffer, bytes.byteOffset, n), at);
    return;
  }
  for (let i = 0; i < n; i++) target[at + i] = bytes.readFloatLE(i * 4);
}
