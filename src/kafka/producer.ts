import kafkajs, { type Kafka, type Producer } from 'kafkajs';

const { Partitioners } = kafkajs;

/** Send attempts after the first before a send fails (with backoff 200 ms doubling to 5 s). */
export const PRODUCER_RETRIES = 10;

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
    // Bounded (about 40 s in all), so a send fails instead of hanging a chunk and shutdown for ever; the caller's
    // chunk then fails and is retried from its uncommitted offsets. One request in flight keeps a partition in order
    // across such a retry (a resend may duplicate, never reorder). kafkajs warns that this limits its EoS: expected.
    retry: { retries: PRODUCER_RETRIES, initialRetryTime: 200, maxRetryTime: 5_000 },
  });
  await producer.connect();
  return producer;
}

/** acks=all for every send: -1 is kafkajs's spelling. */
export const ACKS_ALL = -1;
