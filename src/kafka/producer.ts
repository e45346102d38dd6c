import kafkajs, { type Kafka, type Producer } from 'kafkajs';

const { Partitioners } = kafkajs;

/**
 * The one producer configuration of the product: idempotent, acks from all in-sync replicas,
 * one request in flight so that retries cannot reorder a partition.
 */
export async function createProducer(kafka: Kafka): Promise<Producer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    // The murmur2 partitioner of the Java client: a key lands on the same partition whichever client wrote it.
    createPartitioner: Partitioners.DefaultPartitioner,
    // An idempotent producer retries until the broker is back; a bounded count could break its ordering guarantee.
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
  await producer.connect();
  return producer;
}

/** acks=all for every send: -1 is kafkajs's spelling. */
export const ACKS_ALL = -1;
