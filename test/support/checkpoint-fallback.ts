// The set-up of the checkpoint-fallback suites (issue 11 §2.7, issue 23 §1): a trainer that checkpoints every window
// and keeps every checkpoint, a first run that leaves two of them, and a disk fault on the newest.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Producer } from 'kafkajs';
import type { UserEvent } from '../../src/codec/index.js';
import type { Config } from '../../src/config/load.js';
import { CheckpointStore } from '../../src/trainer/checkpoint.js';
import { Trainer, type TrainerCheckpointState } from '../../src/trainer/trainer.js';
import { eventually } from './kafka.js';
import { SMALL_TRAINER_ENV, sendEvents } from './pipeline.js';
import { pipelineConfig } from './stack.js';

export interface FallbackStack {
  /** The suite's config (from its `before` hook on). */
  readonly cfg: Config;
  /** Events trained in the newest readable checkpoint. */
  trainedInLatest(): number;
  /** The newest readable checkpoint's state. */
  latestState(): TrainerCheckpointState | undefined;
  /** A trainer trains `first`, then `second`, each up to its checkpoint, and stops. */
  checkpointTwice(producer: Producer, first: UserEvent[], second: UserEvent[]): Promise<void>;
  /** Makes every checkpoint holding more than `n` events unreadable (a disk fault); the newest readable one's seq. */
  breakCheckpointsAbove(n: number): number;
}

/** Registers the suite's before/after hooks: topics with two event partitions, a fresh state directory. */
export function fallbackStack(label: string): FallbackStack {
  const stateDir = mkdtempSync(join(tmpdir(), `learn-${label}-`));
  let cfg: Config | undefined;
  before(async () => {
    cfg = await pipelineConfig(label, {
      stateDir,
      partitions: { events: 2 },
      env: { ...SMALL_TRAINER_ENV, LEARN_PUBLISH_VECTORS: 'false', LEARN_BATCH_USERS: '2', LEARN_CHECKPOINT_EVERY_BATCHES: '1', LEARN_CHECKPOINTS_KEPT: '100' },
    });
  });
  after(() => rmSync(stateDir, { recursive: true, force: true }));
  const checkpoints = (): CheckpointStore<TrainerCheckpointState> => new CheckpointStore(join(stateDir, 'checkpoints'), 100);
  const latestState = (): TrainerCheckpointState | undefined => checkpoints().loadLatest()?.state;
  const trainedInLatest = (): number => latestState()?.eventsTrained ?? 0;
  const stack: FallbackStack = {
    get cfg(): Config {
      if (!cfg) throw new Error('the suite has not started yet');
      return cfg;
    },
    trainedInLatest,
    latestState,
    async checkpointTwice(producer, first, second) {
      const trainer = await Trainer.start(stack.cfg);
      try {
        await sendEvents(producer, stack.cfg, first);
        await eventually(`a checkpoint of the first ${first.length} events`, () => trainedInLatest() === first.length, 120_000);
        await sendEvents(producer, stack.cfg, second);
        await eventually(`a checkpoint of ${first.length + second.length} events`, () => trainedInLatest() === first.length + second.length, 120_000);
      } finally {
        await trainer.stop();
      }
    },
    breakCheckpointsAbove(n) {
      const store = checkpoints();
      for (let seq = store.latestSeq(); seq > 0 && trainedInLatest() > n; seq--) {
        writeFileSync(join(store.dir, `ckpt-${String(seq).padStart(12, '0')}.bin`), Buffer.from('LRNCKPT1 unreadable'));
      }
      return checkpoints().loadLatest()?.seq ?? 0;
    },
  };
  return stack;
}
