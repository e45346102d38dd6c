import type { Kafka, Producer } from 'kafkajs';

/**
 * The one producer configuration of the product: idempotent, acks from all in-sync replicas,
 * one request in flight so that retries cannot reorder a partition.
 */
export async function createProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  return producer;
}

/** acks=all for every send: -1 is kafkajs's spelling. */
export const ACKS_ALL = -1;
