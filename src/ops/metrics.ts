import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per process; every role adds its own metrics here and `/metrics` serves it. */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'learn_' });

export const messagesProcessed = new Counter({
  name: 'learn_messages_processed_total',
  help: 'Messages handled successfully, by topic and consumer group',
  labelNames: ['topic', 'group'] as const,
  registers: [registry],
});

export const deadLettered = new Counter({
  name: 'learn_dlq_messages_total',
  help: 'Messages sent to the dead-letter topic, by source topic and reason',
  labelNames: ['topic', 'reason'] as const,
  registers: [registry],
});

export const offsetGaps = new Counter({
  name: 'learn_consumer_offset_gaps_total',
  help: 'Fetches that started past the position of the restored state (sought back, or the role stopped: issue 23)',
  labelNames: ['group', 'topic'] as const,
  registers: [registry],
});

export const consumerPaused = new Gauge({
  name: 'learn_consumer_paused',
  help: '1 while a consumer is paused for backpressure',
  labelNames: ['group'] as const,
  registers: [registry],
});
