import { brokerAnswers } from '../kafka/client.js';
import { redisUrl, type Config } from '../config/load.js';
import { kafkaDown, kafkaStatus, kafkaUp } from './kafka-broker.js';
import { redisAnswers, redisDown, redisStatus, redisUp } from './redis-server.js';
import type { ServiceStatus } from './service.js';

/**
 * The embedded default stack: Kafka (KRaft) and Redis on loopback. A service whose external address is
 * configured (KAFKA_BROKERS, REDIS_URL) is not started here; it is only probed.
 */
async function externalKafka(cfg: Config): Promise<ServiceStatus> {
  const answers = await brokerAnswers(cfg);
  return { service: 'kafka', state: 'external', address: (cfg.kafkaBrokers ?? []).join(','), answers };
}

async function externalRedis(cfg: Config): Promise<ServiceStatus> {
  // The URL may hold a password: report the host only.
  const u = new URL(redisUrl(cfg));
  return { service: 'redis', state: 'external', address: `${u.protocol}//${u.host}`, answers: await redisAnswers(redisUrl(cfg)) };
}

export async function stackUp(cfg: Config): Promise<ServiceStatus[]> {
  // Redis first: it is quick, and Kafka's start-up then has the machine to itself.
  const redis = cfg.redisUrl ? await externalRedis(cfg) : await redisUp(cfg);
  const kafka = cfg.kafkaBrokers ? await externalKafka(cfg) : await kafkaUp(cfg);
  return [kafka, redis];
}

export async function stackDown(cfg: Config): Promise<ServiceStatus[]> {
  const kafka = cfg.kafkaBrokers ? await externalKafka(cfg) : await kafkaDown(cfg);
  const redis = cfg.redisUrl ? await externalRedis(cfg) : await redisDown(cfg);
  return [kafka, redis];
}

export async function stackStatus(cfg: Config): Promise<ServiceStatus[]> {
  return Promise.all([
    cfg.kafkaBrokers ? externalKafka(cfg) : kafkaStatus(cfg),
    cfg.redisUrl ? externalRedis(cfg) : redisStatus(cfg),
  ]);
}
