// CRC-64-AVRO, the Rabin fingerprint from the Avro specification ("Schema Fingerprints").
// BigInt is slow per byte, but this runs once per schema load, never per message.

/** The specification's EMPTY constant; also the fingerprint of zero bytes. */
export const RABIN_EMPTY = 0xc15d213aa4d7a795n;

const MASK64 = 0xffffffffffffffffn;

const TABLE: readonly bigint[] = (() => {
  const table: bigint[] = [];
  for (let i = 0; i < 256; i++) {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (RABIN_EMPTY & -(fp & 1n) & MASK64);
    table.push(fp);
  }
  return table;
})();

/** Fingerprint of raw bytes, as an unsigned 64-bit BigInt. */
export function rabinFingerprint(bytes: Uint8Array): bigint {
  let fp = RABIN_EMPTY;
  for (const byte of bytes) fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] as bigint);
  return fp;
}

/** Fingerprint of a schema's Parsing Canonical Form text (over its UTF-8 bytes). */
export function schemaFingerprint(canonicalForm: string): bigint {
  return rabinFingerprint(new TextEncoder().encode(canonicalForm));
}

/** 16 hex digits, big-endian reading of the 64-bit value (how logs and errors name a fingerprint). */
export function fingerprintHex(fp: bigint): string {
  return fp.toString(16).padStart(16, '0');
}

/** The 8 little-endian bytes the single-object header carries. */
export function fingerprintBytesLE(fp: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(fp);
  return out;
}
