import type { Config } from '../../src/config/load.js';
import { after, before } from 'node:test';
import type { IHeaders, KafkaMessage, Producer } from 'kafkajs';
import { createKafka } from '../../src/kafka/client.js';
import { createProducer } from '../../src/kafka/producer.js';
import { ensureStack, uniqueGroup } from './stack.js';

/** Reads `count` messages of a topic from the beginning with a plain kafkajs consumer (an independent path). */
export async function readTopic(cfg: Config, topic: string, count: number, timeoutMs = 30_000): Promise<KafkaMessage[]> {
  const consumer = createKafka(cfg, 'test-reader').consumer({ groupId: uniqueGroup('reader') });
  const got: KafkaMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${got.length}/${count} messages of ${topic} in ${timeoutMs} ms`)), timeoutMs);
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push(message);
          if (got.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

export function header(h: IHeaders | undefined, name: string): string | undefined {
  const v = h?.[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? String(v[0]) : String(v);
}

/** Polls until `cond` holds or fails with `what` after the timeout. */
export async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** For a test file: the shared stack and one producer, ready before its tests and disconnected after them. */
export function useStackAndProducer(): { cfg: Config; producer: Producer } {
  const ctx = {} as { cfg: Config; producer: Producer };
  before(async () => {
    ctx.cfg = await ensureStack();
    ctx.producer = await createProducer(createKafka(ctx.cfg, 'test-producer'));
  });
  after(async () => {
    await ctx.producer.disconnect();
  });
  return ctx;
}
