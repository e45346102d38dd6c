export type ServeErrorCode = 'unknown-item' | 'bad-k' | 'bad-id' | 'no-model' | 'unavailable' | 'not-found';

const STATUS: Record<ServeErrorCode, number> = {
  'unknown-item': 404,
  'not-found': 404,
  'bad-k': 400,
  'bad-id': 400,
  'no-model': 503,
  unavailable: 503,
};

/** A read-path failure a caller can act on; HTTP answers it as `{ error: { code, message } }`. */
export class ServeError extends Error {
  constructor(
    readonly code: ServeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ServeError';
  }

  get httpStatus(): number {
    return STATUS[this.code];
  }

  toJSON(): { error: { code: ServeErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export const MAX_K = 1000;

/** k from a flag or query string: an integer in 1..MAX_K. */
export function parseK(raw: unknown): number {
  const k = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) {
    throw new ServeError('bad-k', `k must be an integer from 1 to ${MAX_K}, got ${JSON.stringify(raw)}`);
  }
  return k;
}
