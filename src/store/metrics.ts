import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../ops/metrics.js';

/**
 * How long after its source event time a vector write became readable in Redis: every write, so a user rewritten after
 * a step or a version build counts with its newest event's time (the end-to-end figures are the benches' probes).
 */
export const vectorFreshness = new Histogram({
  name: 'learn_store_vector_freshness_seconds',
  help: 'Source event time to vector written in Redis, by kind (user|item)',
  labelNames: ['kind'] as const,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600],
  registers: [registry],
});

export const vectorWrites = new Counter({
  name: 'learn_store_vector_writes_total',
  help: 'Vector writes by kind and outcome: applied, stale (a write later in the trainer write order was stored), rejected, non-finite (NaN or Inf: never written)',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
});

export const storePending = new Gauge({
  name: 'learn_store_pending_writes',
  help: 'Writes held in the pending buffer while Redis is unreachable',
  registers: [registry],
});

export const storeRedisUp = new Gauge({
  name: 'learn_store_redis_up',
  help: '1 while the vector store has a ready Redis connection',
  registers: [registry],
});

/** Human name of a kind for labels. */
export const kindLabel = (kind: 'u' | 'i'): 'user' | 'item' => (kind === 'u' ? 'user' : 'item');
