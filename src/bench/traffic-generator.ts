import { on } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/load.js';
import type { TopicNames } from '../kafka/topics.js';
import { log } from '../ops/logger.js';
import type { TrafficShape } from './synthetic-traffic.js';

/** What the generator thread is started with (structured-cloned). */
export interface GeneratorData {
  cfg: Config;
  topics: TopicNames;
  shape: TrafficShape;
  /** The consumer group whose lag on the user-events topic each tick reports (the trainer's). */
  lagGroupId: string;
}

export type GeneratorCommand = { kind: 'paced'; rate: number; seconds: number } | { kind: 'burst'; events: number } | { kind: 'stop' };

/** One paced second, as the generator thread measured it. */
export interface PacedTick {
  kind: 'tick';
  /** The second's number within the paced run (1-based). */
  second: number;
  /** Events acknowledged by the broker in it, and in all so far (the history fill included). */
  events: number;
  produced: number;
  /** Milliseconds since the paced run began, on the generator's clock. */
  elapsedMs: number;
  /** The lag group's lag, read by the generator thread right after the second's sends (never late); -1 if unknown. */
  lag: number;
  /** Item ids listed so far. */
  listed: number;
}

export type GeneratorReport = PacedTick | { kind: 'ready'; listed: number } | { kind: 'done'; events: number; produced: number } | { kind: 'error'; message: string };

/**
 * The benches' traffic generator in a worker thread (`generator-thread.ts`): it keeps its rate however long the
 * pipeline in the main thread blocks its event loop. The main thread reads its reports when it can; they queue.
 */
export class TrafficGenerator {
  private producedTotal = 0;
  private listedNow = 0;

  private constructor(
    private readonly worker: Worker,
    private readonly reports: AsyncIterator<GeneratorReport>,
    private readonly exited: Promise<unknown>,
  ) {}

  /** Starts the thread; resolves once its initial listings (`TrafficShape.catalogue`) are acknowledged. */
  static async start(cfg: Config, topics: TopicNames, shape: TrafficShape, lagGroupId: string): Promise<TrafficGenerator> {
    const data: GeneratorData = { cfg, topics, shape, lagGroupId };
    const worker = new Worker(new URL('./generator-thread.js', import.meta.url), { workerData: data });
    let exitCode: number | undefined;
    // An uncaught error in the thread after the reports' reader let go (e.g. while disconnecting) must not become an
    // unhandled 'error' event of this process.
    worker.on('error', (err) => log('bench.generator').error({ err }, 'traffic generator thread failed'));
    const closed = new AbortController();
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    void exited.then((code) => {
      exitCode = code as number;
      closed.abort();
    });
    const messages = on(worker, 'message', { signal: closed.signal }) as AsyncIterableIterator<[GeneratorReport]>;
    const reports = (async function* () {
      try {
        for await (const [r] of messages) {
          if (r.kind === 'error') throw new Error(`traffic generator: ${r.message}`);
          yield r;
        }
      } catch (err) {
        if (closed.signal.aborted) throw new Error(`the traffic generator thread exited (code ${exitCode ?? '?'}) while a report was awaited`);
        throw err;
      }
    })();
    const g = new TrafficGenerator(worker, reports, exited);
    try {
      const first = await g.nextReport();
      if (first.kind !== 'ready') throw new Error(`traffic generator: expected ready, got ${first.kind}`);
      g.listedNow = first.listed;
      return g;
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  /** Events acknowledged by the broker so far (as reported). */
  produced(): number {
    return this.producedTotal;
  }

  /** Item ids listed so far (as reported). */
  listed(): number {
    return this.listedNow;
  }

  /** `seconds` seconds of events at `rate` a second (and a listing per 100): yields each second as it is reported. */
  async *paced(rate: number, seconds: number): AsyncGenerator<PacedTick> {
    this.worker.postMessage({ kind: 'paced', rate, seconds } satisfies GeneratorCommand);
    for (;;) {
      const r = await this.nextReport();
      if (r.kind === 'done') {
        this.producedTotal = r.produced;
        return;
      }
      if (r.kind !== 'tick') throw new Error(`traffic generator: unexpected ${r.kind}`);
      this.producedTotal = r.produced;
      this.listedNow = r.listed;
      yield r;
    }
  }

  /** `events` events as fast as the broker takes them; resolves once all are acknowledged. */
  async burst(events: number): Promise<void> {
    this.worker.postMessage({ kind: 'burst', events } satisfies GeneratorCommand);
    const r = await this.nextReport();
    if (r.kind !== 'done') throw new Error(`traffic generator: unexpected ${r.kind}`);
    this.producedTotal = r.produced;
  }

  /** Cuts a paced run or burst short, disconnects the thread's clients and ends it (terminated if it has not ended within 10 s). */
  async stop(): Promise<void> {
    this.worker.postMessage({ kind: 'stop' } satisfies GeneratorCommand);
    const timer = setTimeout(() => void this.worker.terminate(), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private async nextReport(): Promise<GeneratorReport> {
    const r = await this.reports.next();
    if (r.done) throw new Error('the traffic generator thread exited');
    return r.value;
  }
}
