import { on } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/load.js';
import type { TopicNames } from '../kafka/topics.js';
import type { TrafficShape } from './synthetic-traffic.js';

/** What the generator thread is started with (structured-cloned). */
export interface GeneratorData {
  cfg: Config;
  topics: TopicNames;
  shape: TrafficShape;
}

export type GeneratorCommand = { kind: 'paced'; rate: number; seconds: number } | { kind: 'burst'; events: number } | { kind: 'stop' };

/** One paced second, as the generator thread measured it. */
export interface PacedTick {
  kind: 'tick';
  /** The second's number within the paced run (1-based). */
  second: number;
  /** Events acknowledged by the broker in it. */
  events: number;
  /** Milliseconds since the paced run began, on the generator's clock. */
  elapsedMs: number;
  /** Item ids listed so far. */
  listed: number;
}

export type GeneratorReport = PacedTick | { kind: 'ready'; listed: number } | { kind: 'done'; events: number } | { kind: 'error'; message: string };

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
  static async start(cfg: Config, topics: TopicNames, shape: TrafficShape): Promise<TrafficGenerator> {
    const data: GeneratorData = { cfg, topics, shape };
    const worker = new Worker(new URL('./generator-thread.js', import.meta.url), { workerData: data });
    const closed = new AbortController();
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    void exited.then(() => closed.abort(new Error('the traffic generator thread exited')));
    const messages = on(worker, 'message', { signal: closed.signal }) as AsyncIterableIterator<[GeneratorReport]>;
    const reports = (async function* () {
      for await (const [r] of messages) {
        if (r.kind === 'error') throw new Error(`traffic generator: ${r.message}`);
        yield r;
      }
    })();
    const g = new TrafficGenerator(worker, reports, exited);
    const first = await g.nextReport();
    if (first.kind !== 'ready') throw new Error(`traffic generator: expected ready, got ${first.kind}`);
    g.listedNow = first.listed;
    return g;
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
      if (r.kind === 'done') return;
      if (r.kind !== 'tick') throw new Error(`traffic generator: unexpected ${r.kind}`);
      this.producedTotal += r.events;
      this.listedNow = r.listed;
      yield r;
    }
  }

  /** `events` events as fast as the broker takes them; resolves once all are acknowledged. */
  async burst(events: number): Promise<void> {
    this.worker.postMessage({ kind: 'burst', events } satisfies GeneratorCommand);
    const r = await this.nextReport();
    if (r.kind !== 'done') throw new Error(`traffic generator: unexpected ${r.kind}`);
    this.producedTotal += r.events;
  }

  /** Disconnects its producer and ends the thread (terminated if it has not ended within 10 s). */
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
