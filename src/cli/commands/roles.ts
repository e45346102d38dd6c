import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { EncoderWorker } from '../../encoder/worker.js';
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
}
