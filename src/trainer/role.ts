import type { Config } from '../config/load.js';
import { redisUrl } from '../config/load.js';
import { topicsFrom } from '../kafka/topics.js';
import { log } from '../ops/logger.js';
import { shutdown } from '../ops/shutdown.js';
import { createRedisClient } from '../store/redis-client.js';
import { PipelineLease } from './pipeline-lease.js';
import { Trainer, trainerGroup, type TrainerCollaborators } from './trainer.js';
import { VectorPublisher } from './vector-publisher.js';

/** How long a failed trainer's shutdown may take before the process exits anyway. */
const FAILED_EXIT_WAIT_MS = 60_000;

export interface TrainerRole {
  trainer: Trainer;
  publisher: VectorPublisher | undefined;
  lease: PipelineLease;
  /** Final window, checkpoint and commit first, then the last vector writes, then the lease. */
  stop: () => Promise<void>;
}

/**
 * The trainer as `learn train` runs it: the pipeline's lease taken (one trainer per consumer group and events topic,
 * across hosts: issue 23), then the role's wiring in one place: the vector publisher (LEARN_PUBLISH_VECTORS, the lease's
 * fencing token on all its writes) given to the trainer's constructor, which starts it once the model is prepared,
 * then consuming.
 */
export async function startTrainerRole(cfg: Config, collaborators: TrainerCollaborators = {}, opts: { exitOnFailure?: boolean } = {}): Promise<TrainerRole> {
  // Rehearsal spends spare capacity: a trainer behind its stream trains each window alone until it has caught up.
  const rehearsal = collaborators.rehearsal ?? { allowed: (delayMs: number) => delayMs <= cfg.rehearsalMaxDelayMs };
  const leaseRedis = createRedisClient(redisUrl(cfg), 'lease', { commandTimeoutMs: 5_000 });
  let trainer: Trainer | undefined;
  let publisher: VectorPublisher | undefined;
  let lease: PipelineLease;
  try {
    lease = await PipelineLease.acquire(leaseRedis, {
      group: trainerGroup(cfg),
      topic: topicsFrom(cfg).userEvents,
      stateDir: cfg.stateDir,
      ttlMs: cfg.trainerLeaseMs,
      onToken: (token) => publisher?.store.setFence(token),
      onLost: (err) => trainer?.fail(err),
    });
  } catch (err) {
    leaseRedis.disconnect();
    throw err;
  }
  const held = lease;
  try {
    // Every collaborator before the trainer is built; the trainer starts the publisher once its model is prepared.
    publisher = cfg.publishVectors ? await VectorPublisher.open(cfg) : undefined;
    publisher?.store.setFence(held.token);
    const t = new Trainer(cfg, { ...collaborators, rehearsal, lease: held, ...(publisher ? { publisher } : {}) });
    trainer = t;
    publisher?.store.on('fenced', (err) => t.fail(err));
    await t.prepare();
    await t.consume();
  } catch (err) {
    await publisher?.stop().catch(() => undefined);
    await held.release();
    leaseRedis.disconnect();
    throw err;
  }
  const t = trainer;
  if (opts.exitOnFailure ?? true) {
    // A failed step leaves state that must not be checkpointed: stop everything and exit non-zero; a restart
    // resumes from the last checkpoint.
    void t.failure.then(async (err) => {
      process.exitCode = 1;
      // A stall may have left a collaborator that never answers, and process.exit waits for every worker thread to
      // end (one blocked in a native call never does): past the bound the process kills itself.
      setTimeout(() => {
        log('trainer').fatal({ waitedMs: FAILED_EXIT_WAIT_MS }, 'shutdown after the failure did not finish: SIGKILL');
        process.kill(process.pid, 'SIGKILL');
      }, FAILED_EXIT_WAIT_MS).unref();
      await shutdown(`trainer failed: ${err.message}`);
      process.exit(1);
    });
  }
  return {
    trainer: t,
    publisher,
    lease: held,
    stop: async () => {
      await t.stop();
      await publisher?.stop();
      await held.release();
      leaseRedis.disconnect();
    },
  };
}
