/** The worker side of TrainingThread: one PalLearner, requests answered in arrival order. */
import { parentPort, workerData } from 'node:worker_threads';
import { armFaultHang, hangPoint } from '../ops/fault-injection.js';
import { selectBackend } from './backend.js';
import { frozenContent, hybridResiduals } from './item-input.js';
import { PalLearner } from './learner.js';
import type { TrainingReply, TrainingRequest, TrainingThreadData } from './training-thread.js';

if (!parentPort) throw new Error('training-worker runs as a worker thread');
const port = parentPort;
const data = workerData as TrainingThreadData;
armFaultHang(data.faultHang);
await selectBackend(data.backend);
const input = data.input.kind === 'hybrid' ? hybridResiduals(data.cfg.contentDim, data.input.maxRows) : frozenContent(data.cfg.contentDim);
const learner = new PalLearner(data.cfg, data.seed, input);
learner.setState(data.state);
port.postMessage({ kind: 'ready', seq: 0 } satisfies TrainingReply);

function answer(req: TrainingRequest): TrainingReply {
  switch (req.kind) {
    case 'steps': {
      hangPoint('train-step'); // LEARN_FAULT_HANG_AT: the trainer's watchdog must fail the role
      const started = performance.now();
      const skippedBefore = learner.skippedSteps;
      let loss = 0;
      for (const b of req.batches) loss = learner.trainStep(b);
      if (req.reserveRows > 0) learner.reserveItemRows(req.reserveRows);
      const skipped = learner.skippedSteps - skippedBefore;
      return { kind: 'steps', seq: req.seq, loss, step: learner.step, weights: learner.weights(), seconds: (performance.now() - started) / 1000, skipped };
    }
    case 'state':
      return { kind: 'state', seq: req.seq, state: learner.getState() };
    case 'close':
      learner.dispose();
      return { kind: 'closed', seq: req.seq };
  }
}

port.on('message', (req: TrainingRequest) => {
  let reply: TrainingReply;
  try {
    reply = answer(req);
  } catch (err) {
    reply = { kind: 'error', seq: req.seq, message: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply);
  if (reply.kind === 'closed') port.close();
});
