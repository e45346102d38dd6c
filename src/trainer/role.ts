import type { Config } from '../config/load.js';
import { shutdown } from '../ops/shutdown.js';
import { Trainer, type TrainerCollaborators } from './trainer.js';
import { VectorPublisher } from './vector-publisher.js';

export interface TrainerRole {
  trainer: Trainer;
  publisher: VectorPublisher | undefined;
  /** Final window, checkpoint and commit first, then the last vector writes. */
  stop: () => Promise<void>;
}

/** The trainer as `learn train` runs it: model prepared, vector publisher attached (LEARN_PUBLISH_VECTORS), consuming. */
export async function startTrainerRole(cfg: Config, collaborators: TrainerCollaborators = {}, opts: { exitOnFailure?: boolean } = {}): Promise<TrainerRole> {
  // Rehearsal spends spare capacity: a trainer behind its stream trains each window alone until it has caught up.
  const rehearsal = collaborators.rehearsal ?? { allowed: (delayMs: number) => delayMs <= cfg.rehearsalMaxDelayMs };
  const trainer = new Trainer(cfg, { ...collaborators, rehearsal });
  await trainer.prepare();
  const publisher = cfg.publishVectors ? await VectorPublisher.start(cfg, trainer, { onFailure: (err) => trainer.fail(err) }) : undefined;
  await trainer.consume();
  if (opts.exitOnFailure ?? true) {
    // A failed step leaves state that must not be checkpointed: stop everything and exit non-zero; a restart
    // resumes from the last checkpoint.
    void trainer.failure.then(async (err) => {
      process.exitCode = 1;
      await shutdown(`trainer failed: ${err.message}`);
      process.exit(1);
    });
  }
  return {
    trainer,
    publisher,
    stop: async () => {
      await trainer.stop();
      await publisher?.stop();
    },
  };
}
