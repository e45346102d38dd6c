/**
 * An order-free fingerprint of a multiset of event ids: the sum of their 64-bit FNV-1a hashes, mod 2^64.
 * Equal digests and counts for "produced" and "trained" mean, with overwhelming probability, that every event
 * was trained exactly once (a lost event and a repeated one would have to cancel out exactly).
 */
const MASK = (1n << 64n) - 1n;
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;

export function eventHash(id: string): bigint {
  let h = FNV_OFFSET;
  for (const b of Buffer.from(id, 'utf8')) {
    h ^= BigInt(b);
    h = (h * FNV_PRIME) & MASK;
  }
  return h;
}

export function addToDigest(digest: bigint, id: string): bigint {
  return (digest + eventHash(id)) & MASK;
}

export function digestOf(ids: Iterable<string>): bigint {
  let d = 0n;
  for (const id of ids) d = addToDigest(d, id);
  return d;
}
