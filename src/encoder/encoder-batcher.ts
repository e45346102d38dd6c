import { DEFAULTS } from '../config/load.js';
import { DynamicBatcher } from './batcher.js';
import type { ContentEncoder } from './content-encoder.js';

export interface EncoderBatcherOptions {
  /** Largest batch sent to the model (default 32). */
  maxBatch?: number;
  /** How long the first waiting text may wait for company (default 10 ms). */
  maxWaitMs?: number;
}

/**
 * Many callers, one model: `submit(text)` tokenises at once (so a bad text fails only its caller and the
 * token count is known), then waits in a DynamicBatcher that groups texts of similar length.
 */
export class EncoderBatcher {
  private readonly batcher: DynamicBatcher<number[], Float32Array>;

  constructor(
    readonly encoder: ContentEncoder,
    opts: EncoderBatcherOptions = {},
  ) {
    this.batcher = new DynamicBatcher({
      maxBatch: opts.maxBatch ?? DEFAULTS.encoderBatch,
      maxWaitMs: opts.maxWaitMs ?? DEFAULTS.encoderWaitMs,
      runBatch: (rows) => encoder.encodeTokens(rows),
      sizeOf: (row) => row.length,
    });
  }

  submit(text: string): Promise<Float32Array> {
    let ids: number[];
    try {
      ids = this.encoder.tokenize(text);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.batcher.submit(ids);
  }

  get pending(): number {
    return this.batcher.pending;
  }

  /** Encodes everything already submitted, then refuses new texts. The encoder stays open. */
  close(): Promise<void> {
    return this.batcher.close();
  }
}
