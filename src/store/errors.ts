/** Errors of the vector store; `code` is stable for callers and HTTP answers. */
export class StoreError extends Error {
  constructor(
    readonly code: 'backpressure' | 'unknown-version' | 'bad-vector' | 'redis' | 'fenced',
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** The pending buffer is full: the batch was not accepted (nothing of it is acknowledged); pause and retry. */
export class BackpressureError extends StoreError {
  constructor(readonly pending: number, readonly limit: number) {
    super('backpressure', `vector store pending buffer is full (${pending}/${limit} keys): pause consuming until shouldPause() is false`);
    this.name = 'BackpressureError';
  }
}
