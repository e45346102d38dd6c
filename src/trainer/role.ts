import type { Config } from '../config/load.js';
import { Trainer, type TrainerHooks } from './trainer.js';
import { VectorPublisher } from './vector-publisher.js';

export interface TrainerRole {
  trainer: Trainer;
  publisher: VectorPublisher | undefined;
  /** Final window, checkpoint and commit first, then the last vector writes. */
  stop: () => Promise<void>;
}

/** The trainer as `learn train` runs it: model prepared, vector publisher attached (LEARN_PUBLISH_VECTORS), consuming. */
export async function startTrainerRole(cfg: Config, hooks: TrainerHooks = {}): Promise<TrainerRole> {
  const trainer = new Trainer(cfg, hooks);
  await trainer.prepare();
  const publisher = cfg.publishVectors ? await VectorPublisher.start(cfg, trainer) : undefined;
  await trainer.consume();
  return {
    trainer,
    publisher,
    stop: async () => {
      await trainer.stop();
      await publisher?.stop();
    },
  };
}
