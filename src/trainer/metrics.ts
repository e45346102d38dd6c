import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../ops/metrics.js';

export const eventsTrained = new Counter({ name: 'learn_events_trained_total', help: 'User events folded into the model by a trained micro-batch', registers: [registry] });
export const trainSteps = new Counter({ name: 'learn_train_steps_total', help: 'Optimizer steps taken', registers: [registry] });
export const trainLoss = new Gauge({ name: 'learn_train_loss', help: 'All-action InfoNCE loss of the last step', registers: [registry] });
export const trainStepSeconds = new Histogram({
  name: 'learn_train_step_seconds',
  help: 'Time of one micro-batch from its cut to its weights in use: batch building, optimizer steps (in the training thread: the wait for it)',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
  registers: [registry],
});
export const eventsWaiting = new Gauge({ name: 'learn_events_waiting', help: 'Events waiting for their item content vector', registers: [registry] });
export const historyUsers = new Gauge({ name: 'learn_history_users', help: 'Users whose history the trainer holds', registers: [registry] });
export const checkpointsWritten = new Counter({ name: 'learn_checkpoints_total', help: 'Checkpoints written', registers: [registry] });
export const rehearsalSkipped = new Counter({
  name: 'learn_rehearsal_skipped_windows_total',
  help: 'Windows trained without rehearsal because their oldest event was older than LEARN_REHEARSAL_MAX_DELAY_MS or the window grew while a step ran',
  registers: [registry],
});
export const windowEvents = new Histogram({
  name: 'learn_train_window_events',
  help: 'Events per trained micro-batch: above LEARN_WINDOW_MAX_EVENTS when the window grew while the step before ran',
  buckets: [1, 8, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192],
  registers: [registry],
});
export const versionsLost = new Counter({
  name: 'learn_vector_versions_lost_total',
  help: 'Current vector versions found gone from Redis (evicted, flushed, restarted empty) and rebuilt',
  registers: [registry],
});
export const trainStepsSkipped = new Counter({
  name: 'learn_train_steps_skipped_total',
  help: 'Optimizer steps not applied because their loss or a gradient was NaN or Inf (the weights stay as they were)',
  registers: [registry],
});
export const itemVectorsRefreshed = new Counter({
  name: 'learn_item_vectors_refreshed_total',
  help: 'Item vectors re-published by the refresh between version builds (LEARN_ITEM_REFRESH_STEPS), into each current version',
  registers: [registry],
});
export const itemRefreshSeconds = new Histogram({
  name: 'learn_item_refresh_seconds',
  help: "Time of one refresh step after a trained window: the due items' forward pass and their writes to Redis (failed steps included)",
  buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
  registers: [registry],
});
