/** The worker side of IdModelThread: one IdSequenceLearner, requests answered in arrival order. */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend, type ItemRef, type NegativePool } from '../../../model/index.js';
import { IdSequenceLearner } from './id-learner.js';
import type { IdModelReply, IdModelRequest, IdModelThreadData } from './id-model-thread.js';

if (!parentPort) throw new Error('id-model-worker runs as a worker thread');
const port = parentPort;
const data = workerData as IdModelThreadData;
await selectBackend(data.backend);
const learner = new IdSequenceLearner(data.base, data.capacity, data.seed);
// The pool is read by item id only (IdSequenceLearner maps each drawn item to its own table row).
const NO_CONTENT = new Float32Array(0);

function answer(req: IdModelRequest): IdModelReply {
  switch (req.kind) {
    case 'vectors': {
      // Item matrix first, then users: the order in which the in-thread scorer assigns table rows to new ids.
      const items = learner.itemMatrix(req.ids);
      const users = learner.userVectors(req.histories);
      return { kind: 'vectors', seq: req.seq, vectors: { items, users, dim: learner.cfg.outDim } };
    }
    case 'train': {
      const started = performance.now();
      const pool: NegativePool = { size: req.pool.length, at: (i): ItemRef => ({ itemId: req.pool[i] as string, content: NO_CONTENT }) };
      let loss = 0;
      for (const step of req.steps) loss = learner.trainStep(step, pool);
      return { kind: 'train', seq: req.seq, loss, seconds: (performance.now() - started) / 1000 };
    }
    case 'close':
      learner.dispose();
      return { kind: 'closed', seq: req.seq };
  }
}

port.on('message', (req: IdModelRequest) => {
  let reply: IdModelReply;
  try {
    reply = answer(req);
  } catch (err) {
    reply = { kind: 'error', seq: req.seq, message: err instanceof Error ? err.message : String(err) };
  }
  if (reply.kind === 'vectors') port.postMessage(reply, [reply.vectors.items.buffer as ArrayBuffer]);
  else port.postMessage(reply);
  if (reply.kind === 'closed') port.close();
});
