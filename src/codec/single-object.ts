// Avro single-object encoding framing: 0xC3 0x01, then the writer schema's CRC-64-AVRO
// fingerprint as 8 little-endian bytes, then the Avro binary body.
import { CodecError } from './errors.js';
import { fingerprintBytesLE } from './rabin.js';

export const MAGIC = Buffer.from([0xc3, 0x01]);
export const HEADER_LENGTH = 10;

export function header(fingerprint: bigint): Buffer {
  return Buffer.concat([MAGIC, fingerprintBytesLE(fingerprint)]);
}

/** The writer fingerprint from a single-object message; throws too-short or bad-magic. */
export function readFingerprint(bytes: Uint8Array): bigint {
  if (bytes.length < HEADER_LENGTH) {
    throw new CodecError('too-short', `${bytes.length} bytes, a single-object header alone is ${HEADER_LENGTH}`);
  }
  if (bytes[0] !== 0xc3 || bytes[1] !== 0x01) {
    const got = Buffer.from(bytes.subarray(0, 2)).toString('hex');
    throw new CodecError('bad-magic', `starts with 0x${got}, expected 0xc301`);
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readBigUInt64LE(2);
}
