import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { intOption } from '../options.js';
import { EncoderWorker } from '../../encoder/worker.js';
import { firstEvents, loadDataset } from '../../data/index.js';
import { pretrain } from '../../trainer/pretrain.js';
import { startTrainerRole } from '../../trainer/role.js';
import { log } from '../../ops/logger.js';
import { armFaultHang, armFaultKill } from '../../ops/fault-injection.js';
import { onShutdown } from '../../ops/shutdown.js';
import { addReadinessCheck, redisCheck } from '../../ops/health.js';
import { startRoleOps } from '../role-ops.js';
import { encoderGroup } from '../../encoder/worker.js';
import { trainerGroup } from '../../trainer/trainer.js';

/** The long-running roles. Each runs until SIGTERM/SIGINT, then finishes or abandons its batch cleanly. */
export function registerRoles(program: Command): void {
  program
    .command('encode')
    .description('encoder worker: learn.item-listings -> frozen LM -> learn.item-content (consumer group learn-encoder)')
    .action(async () => {
      const cfg = loadConfig();
      armFaultKill(cfg.faultKillAt); // off unless LEARN_FAULT_KILL_AT (the fault tests)
      armFaultHang(cfg.faultHangAt); // off unless LEARN_FAULT_HANG_AT (the fault tests)
      const ops = await startRoleOps(cfg, 'encoder'); // /metrics, /healthz, /readyz on LEARN_METRICS_PORT
      const worker = await EncoderWorker.start(cfg);
      onShutdown('encoder worker', () => worker.stop());
      await ops.watchConsumer({ groupId: encoderGroup(cfg), topics: [cfg.topicItemListings] });
      log('cli').info('encoder worker started; SIGTERM or Ctrl-C stops it');
    });

  program
    .command('train')
    .description('trainer: learn.user-events -> PAL micro-batch steps -> checkpoints (consumer group learn-trainer)')
    .action(async () => {
      const cfg = loadConfig();
      armFaultKill(cfg.faultKillAt); // off unless LEARN_FAULT_KILL_AT (the fault tests)
      armFaultHang(cfg.faultHangAt); // off unless LEARN_FAULT_HANG_AT (the fault tests)
      const ops = await startRoleOps(cfg, 'trainer'); // /metrics, /healthz, /readyz on LEARN_METRICS_PORT
      const trainer = await startTrainerRole(cfg);
      onShutdown('trainer', () => trainer.stop());
      if (trainer.publisher) addReadinessCheck('redis', redisCheck(trainer.publisher.store.redis));
      await ops.watchConsumer({ groupId: trainerGroup(cfg), topics: [cfg.topicUserEvents] });
      log('cli').info('trainer started; SIGTERM or Ctrl-C stops it after a final checkpoint');
    });
  program
    .command('run')
    .description('encoder and trainer in one process (the single-machine default)')
    .action(async () => {
      const cfg = loadConfig();
      armFaultKill(cfg.faultKillAt); // off unless LEARN_FAULT_KILL_AT (the fault tests)
      armFaultHang(cfg.faultHangAt); // off unless LEARN_FAULT_HANG_AT (the fault tests)
      const ops = await startRoleOps(cfg, 'run'); // /metrics, /healthz, /readyz on LEARN_METRICS_PORT
      const encoder = await EncoderWorker.start(cfg);
      onShutdown('encoder worker', () => encoder.stop());
      const trainer = await startTrainerRole(cfg);
      // Registered last, closed first: the trainer checkpoints while the encoder is still up.
      onShutdown('trainer', () => trainer.stop());
      if (trainer.publisher) addReadinessCheck('redis', redisCheck(trainer.publisher.store.redis));
      await Promise.all([
        ops.watchConsumer({ groupId: encoderGroup(cfg), topics: [cfg.topicItemListings] }),
        ops.watchConsumer({ groupId: trainerGroup(cfg), topics: [cfg.topicUserEvents] }),
      ]);
      log('cli').info('encoder and trainer started; SIGTERM or Ctrl-C stops both');
    });
  program
    .command('pretrain')
    .description('warm start: train on a historical log (ml-100k or JSON Lines) and checkpoint, before `learn train` goes live')
    .requiredOption('--events <dataset>', 'ml-100k, or a JSON Lines file or folder (see docs/datasets.md)')
    .option('--limit <n>', 'only the first N events', intOption('--limit'))
    .action(async (o: { events: string; limit?: number }) => {
      const cfg = loadConfig();
      const all = await loadDataset(o.events, cfg);
      const records = o.limit ? firstEvents(all, o.limit) : all;
      const l = log('cli');
      const summary = await pretrain(cfg, records, (done, total) => l.info({ done, total }, 'pretraining'));
      process.stdout.write(`${JSON.stringify(summary)}\n`);
    });
}
