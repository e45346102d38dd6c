/**
 * The load and soak benches' traffic generator, run in its own worker thread (`TrafficGenerator`): its own event
 * loop and Kafka producer, so the pipeline's training, which blocks the main thread for a window's steps, cannot
 * slow the offered rate.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Message } from 'kafkajs';
import { createKafka } from '../kafka/client.js';
import { ACKS_ALL, createProducer } from '../kafka/producer.js';
import { SyntheticTraffic } from './synthetic-traffic.js';
import type { GeneratorCommand, GeneratorData, GeneratorReport } from './traffic-generator.js';

const BURST_CHUNK = 1000;
const SLOTS_PER_SECOND = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!parentPort) throw new Error('generator-thread runs as a worker thread');
const port = parentPort;
const { cfg, topics, shape } = workerData as GeneratorData;
const traffic = new SyntheticTraffic(shape);
const producer = await createProducer(createKafka(cfg, 'bench-generator'));
const report = (r: GeneratorReport) => port.postMessage(r);

async function send(topic: string, messages: Message[]): Promise<void> {
  if (messages.length > 0) await producer.send({ topic, acks: ACKS_ALL, messages });
}

/** Sends `n` events (and their listings); returns n once the broker acknowledged them. */
async function sendEvents(n: number): Promise<number> {
  const { events, listings } = traffic.next(n);
  await send(topics.itemListings, listings);
  await send(topics.userEvents, events);
  return events.length;
}

/** `seconds` seconds at `rate`, in ten sends a second, each due at its slot; a slow send eats into the next slot, never adds one. */
async function paced(rate: number, seconds: number): Promise<void> {
  const start = performance.now();
  let total = 0;
  for (let s = 0; s < seconds; s++) {
    let inSecond = 0;
    for (let k = 0; k < SLOTS_PER_SECOND; k++) {
      const wait = start + s * 1000 + k * (1000 / SLOTS_PER_SECOND) - performance.now();
      if (wait > 0) await sleep(wait);
      inSecond += await sendEvents(Math.floor((rate * (k + 1)) / SLOTS_PER_SECOND) - Math.floor((rate * k) / SLOTS_PER_SECOND));
    }
    total += inSecond;
    report({ kind: 'tick', second: s + 1, events: inSecond, elapsedMs: performance.now() - start, listed: traffic.listed() });
  }
  report({ kind: 'done', events: total });
}

async function burst(n: number): Promise<void> {
  let total = 0;
  while (total < n) total += await sendEvents(Math.min(BURST_CHUNK, n - total));
  report({ kind: 'done', events: total });
}

async function run(cmd: GeneratorCommand): Promise<void> {
  if (cmd.kind === 'paced') await paced(cmd.rate, cmd.seconds);
  else if (cmd.kind === 'burst') await burst(cmd.events);
  else {
    await producer.disconnect();
    port.close();
  }
}

// Commands run one after another, in the order sent.
let queue = Promise.resolve();
port.on('message', (cmd: GeneratorCommand) => {
  queue = queue.then(() => run(cmd)).catch((err: unknown) => report({ kind: 'error', message: err instanceof Error ? err.message : String(err) }));
});
await send(topics.itemListings, traffic.initialListings());
report({ kind: 'ready', listed: traffic.listed() });
