// The in-process replay: the same model, evaluator, windows and protocol as the Kafka path (protocol.ts), fed from the
// data set directly. No broker, no serialisation, no waiting on consumers: the tool for fast experiments.
import type { Config } from '../config/load.js';
import { EncoderBatcher, ItemEncoder, batcherOptionsFrom, encodeListings, encoderOptionsFrom } from '../encoder/index.js';
import { ContentTable } from '../learner/content-table.js';
import { eventProblem } from '../learner/event-check.js';
import { OnlineModel, type WindowExamples } from '../learner/online-model.js';
import { selectBackend, type NegativePool } from '../model/index.js';
import { log } from '../ops/logger.js';
import { MicroBatchWindow } from '../trainer/window.js';
import { toItemContent } from '../encoder/index.js';
import type { ReplayPlan } from './protocol.js';

export interface InProcessOptions {
  /** Content vectors to use instead of encoding the listings (e.g. those of an earlier run, to compare paths). */
  content?: ReadonlyMap<string, Float32Array>;
  /** Called every `progressEvery` events with the events done so far. */
  onProgress?: (p: { eventsDone: number; eventsTrained: number; loss: number }) => void;
  progressEvery?: number;
  /** Called once the stream is done, with the model still live. */
  onFinished?: (model: OnlineModel) => void | Promise<void>;
}

export interface InProcessResult {
  itemsEncoded: number;
  listingsWithoutContent: number;
  eventsTrained: number;
  /** Events that could not be learned from (invalid, or their item has no content). */
  eventsRejected: number;
  steps: number;
  contentDim: number;
  seconds: { encode: number; train: number };
}

/** Runs the plan in-process: listings encoded first (in order), then every event, window by window, test-then-train. */
export async function replayInProcess(cfg: Config, plan: ReplayPlan, opts: InProcessOptions = {}): Promise<InProcessResult> {
  const l = log('replay.in-process');
  await selectBackend(cfg.tfBackend);
  const content = new ContentTable();
  const encodeStart = performance.now();
  let listingsWithoutContent = 0;
  if (opts.content) {
    for (const li of plan.listings) {
      const v = opts.content.get(li.item_id);
      if (v) content.apply(li.item_id, toItemContent(li.item_id, '', 'given', v));
      else listingsWithoutContent++;
    }
  } else {
    const encoder = await ItemEncoder.load(encoderOptionsFrom(cfg));
    const batcher = new EncoderBatcher(encoder, batcherOptionsFrom(cfg));
    try {
      const { contents, withoutText } = await encodeListings(batcher, encoder.modelId, plan.listings, cfg.itemTextMaxChars);
      for (const c of contents) content.apply(c.item_id, c);
      listingsWithoutContent = withoutText;
    } finally {
      await batcher.close();
      await encoder.close();
    }
  }
  const encodeSeconds = (performance.now() - encodeStart) / 1000;
  const dim = content.dim;
  if (dim === undefined) throw new Error('no listing of the data set could be encoded: nothing to replay');
  l.info({ items: content.size, seconds: Math.round(encodeSeconds) }, 'listings encoded');

  const model = OnlineModel.fresh(cfg, content, dim);
  const pool = (w: WindowExamples): NegativePool => plan.catalogue.poolFor(w, content);
  const window = new MicroBatchWindow({ maxUsers: cfg.batchUsers, maxEvents: cfg.windowMaxEvents });
  const every = opts.progressEvery ?? 5000;
  let trained = 0;
  let rejected = 0;
  let loss = 0;
  let trainSeconds = 0;
  const learn = (): void => {
    const events = window.take();
    const w = { events, examples: model.examplesOf(events) };
    const negatives = pool(w);
    plan.evaluator.scoreWindow(w, model, negatives);
    const started = performance.now();
    loss = model.learnWindow(w, negatives);
    trainSeconds += (performance.now() - started) / 1000;
    for (const list of events.values()) trained += list.length;
    plan.evaluator.recordLoss(trained, loss);
  };
  try {
    plan.events.forEach((e, i) => {
      if (eventProblem(e, cfg) || !content.has(e.item_id)) rejected++;
      else {
        window.add(e);
        if (window.full) learn();
      }
      if ((i + 1) % every === 0) opts.onProgress?.({ eventsDone: i + 1, eventsTrained: trained, loss });
    });
    if (window.size > 0) learn();
    opts.onProgress?.({ eventsDone: plan.events.length, eventsTrained: trained, loss });
    await opts.onFinished?.(model);
    return {
      itemsEncoded: content.size,
      listingsWithoutContent,
      eventsTrained: trained,
      eventsRejected: rejected,
      steps: model.step,
      contentDim: dim,
      seconds: { encode: round1(encodeSeconds), train: round1(trainSeconds) },
    };
  } finally {
    model.dispose();
  }
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
