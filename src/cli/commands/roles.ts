import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { EncoderWorker } from '../../encoder/worker.js';
import { Trainer } from '../../trainer/trainer.js';
import { log } from '../../ops/logger.js';
import { onShutdown } from '../../ops/shutdown.js';

/** The long-running roles. Each runs until SIGTERM/SIGINT, then finishes or abandons its batch cleanly. */
export function registerRoles(program: Command): void {
  program
    .command('encode')
    .description('encoder worker: learn.item-listings -> frozen LM -> learn.item-content (consumer group learn-encoder)')
    .action(async () => {
      const worker = await EncoderWorker.start(loadConfig());
      onShutdown('encoder worker', () => worker.stop());
      log('cli').info('encoder worker started; SIGTERM or Ctrl-C stops it');
    });

  program
    .command('train')
    .description('trainer: learn.user-events -> PAL micro-batch steps -> checkpoints (consumer group learn-trainer)')
    .action(async () => {
      const trainer = await Trainer.start(loadConfig());
      onShutdown('trainer', () => trainer.stop());
      log('cli').info('trainer started; SIGTERM or Ctrl-C stops it after a final checkpoint');
    });
  program
    .command('run')
    .description('encoder and trainer in one process (the single-machine default)')
    .action(async () => {
      const cfg = loadConfig();
      const encoder = await EncoderWorker.start(cfg);
      onShutdown('encoder worker', () => encoder.stop());
      const trainer = await Trainer.start(cfg);
      // Registered last, closed first: the trainer checkpoints while the encoder is still up.
      onShutdown('trainer', () => trainer.stop());
      log('cli').info('encoder and trainer started; SIGTERM or Ctrl-C stops both');
    });
}
