/**
 * The load and soak benches' traffic generator, run in its own worker thread (`TrafficGenerator`): its own event
 * loop, Kafka producer and lag reader, so the pipeline's training, which blocks the main thread for a window's
 * steps, can neither slow the offered rate nor delay the lag samples.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Message } from 'kafkajs';
import { createKafka } from '../kafka/client.js';
import { ACKS_ALL, createProducer } from '../kafka/producer.js';
import { ConsumerLagMonitor } from '../kafka/consumer-lag.js';
import { SyntheticTraffic } from './synthetic-traffic.js';
import type { GeneratorCommand, GeneratorData, GeneratorReport } from './traffic-generator.js';

const BURST_CHUNK = 1000;
const SLOTS_PER_SECOND = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!parentPort) throw new Error('generator-thread runs as a worker thread');
const port = parentPort;
const { cfg, topics, shape, lagGroupId } = workerData as GeneratorData;
const traffic = new SyntheticTraffic(shape);
const kafka = createKafka(cfg, 'bench-generator');
const producer = await createProducer(kafka);
const admin = kafka.admin();
await admin.connect();
const lagMonitor = new ConsumerLagMonitor(admin, { groupId: lagGroupId, topics: [topics.userEvents] }, { intervalMs: 60_000, maxLag: Number.MAX_SAFE_INTEGER });
const report = (r: GeneratorReport) => port.postMessage(r);
let produced = 0;
/** Set by a stop command as soon as it arrives: a paced run or a burst ends at its next send. */
let stopping = false;

async function send(topic: string, messages: Message[]): Promise<void> {
  if (messages.length > 0) await producer.send({ topic, acks: ACKS_ALL, messages });
}

/** Sends `n` events (and their listings); returns n once the broker acknowledged them. */
async function sendEvents(n: number): Promise<number> {
  const { events, listings } = traffic.next(n);
  await send(topics.itemListings, listings);
  await send(topics.userEvents, events);
  produced += events.length;
  return events.length;
}

/** The trainer group's lag now (end offsets minus committed, summed over partitions); -1 if unknown. */
async function lag(): Promise<number> {
  await lagMonitor.pollOnce();
  return lagMonitor.snapshot()?.partitions.reduce((sum, p) => sum + p.lag, 0) ?? -1;
}

/** `seconds` seconds at `rate`, in ten sends a second, each due at its slot; a slow send eats into the next slot, never adds one. */
async function paced(rate: number, seconds: number): Promise<void> {
  const start = performance.now();
  let total = 0;
  for (let s = 0; s < seconds && !stopping; s++) {
    let inSecond = 0;
    for (let k = 0; k < SLOTS_PER_SECOND && !stopping; k++) {
      const wait = start + s * 1000 + k * (1000 / SLOTS_PER_SECOND) - performance.now();
      if (wait > 0) await sleep(wait);
      inSecond += await sendEvents(Math.floor((rate * (k + 1)) / SLOTS_PER_SECOND) - Math.floor((rate * k) / SLOTS_PER_SECOND));
    }
    total += inSecond;
    const elapsedMs = performance.now() - start;
    report({ kind: 'tick', second: s + 1, events: inSecond, produced, elapsedMs, lag: await lag(), listed: traffic.listed() });
  }
  report({ kind: 'done', events: total, produced });
}

async function burst(n: number): Promise<void> {
  let total = 0;
  while (total < n && !stopping) total += await sendEvents(Math.min(BURST_CHUNK, n - total));
  report({ kind: 'done', events: total, produced });
}

async function run(cmd: GeneratorCommand): Promise<void> {
  if (cmd.kind === 'paced') await paced(cmd.rate, cmd.seconds);
  else if (cmd.kind === 'burst') await burst(cmd.events);
  else {
    await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
    port.close();
  }
}

// Commands run one after another, in the order sent; a stop also cuts short the one running.
let queue = Promise.resolve();
port.on('message', (cmd: GeneratorCommand) => {
  if (cmd.kind === 'stop') stopping = true;
  queue = queue.then(() => run(cmd)).catch((err: unknown) => report({ kind: 'error', message: err instanceof Error ? err.message : String(err) }));
});
await send(topics.itemListings, traffic.initialListings());
report({ kind: 'ready', listed: traffic.listed() });
