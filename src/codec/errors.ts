// Why decoding or encoding failed, as a short kebab-case code. Consumers put it in the
// dead-letter-queue `reason` header, so the set is closed and stable.
export const CODEC_ERROR_REASONS = [
  'too-short', // fewer bytes than the 10-byte single-object header
  'bad-magic', // does not start with 0xC3 0x01
  'unknown-fingerprint', // writer schema not in schemas/
  'wrong-record', // a known fingerprint, but of another record type
  'truncated', // the body ends before the value does
  'trailing-bytes', // bytes left after the value
  'malformed-body', // body bytes that no value encodes to (bad union index, negative length, bad UTF-8, ...)
  'invalid-value', // encode side: the value does not match the writer schema
] as const;

export type CodecErrorReason = (typeof CODEC_ERROR_REASONS)[number];

export class CodecError extends Error {
  override readonly name = 'CodecError';

  constructor(
    readonly reason: CodecErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${reason}: ${message}`, options);
  }
}

export function isCodecError(err: unknown): err is CodecError {
  return err instanceof CodecError;
}
