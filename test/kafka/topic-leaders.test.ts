import assert from 'node:assert/strict';
import { test } from 'node:test';
import kafkajs, { type ITopicMetadata } from 'kafkajs';
import { missingLeaders, waitForTopicLeaders } from '../../src/kafka/topics.js';

const { KafkaJSProtocolError, KafkaJSNumberOfRetriesExceeded } = kafkajs;

type Answer = ITopicMetadata[] | Error;

/** A stand-in for the admin's metadata call that answers from a script, then repeats its last answer. */
function scriptedAdmin(answers: Answer[]): { fetchTopicMetadata: () => Promise<{ topics: ITopicMetadata[] }>; calls: () => number } {
  let calls = 0;
  return {
    fetchTopicMetadata: async () => {
      const a = answers[Math.min(calls, answers.length - 1)]!;
      calls += 1;
      if (a instanceof Error) throw a;
      return { topics: a };
    },
    calls: () => calls,
  };
}

const partition = (partitionId: number, leader: number) => ({ partitionId, leader, partitionErrorCode: 0, replicas: [1], isr: [1] });
/** A broker error as kafkajs builds it from an error code. */
const protocolError = (message: string, type: string, code: number, retriable: boolean): Error =>
  new KafkaJSProtocolError(Object.assign(new Error(message), { type, code, retriable }));
const unknownTopic = (): Error => protocolError('This server does not host this topic-partition', 'UNKNOWN_TOPIC_OR_PARTITION', 3, true);

test('missingLeaders names partitions without a leader and partitions not listed yet', () => {
  const meta: ITopicMetadata[] = [{ name: 'a', partitions: [partition(0, 1), partition(1, -1)] }];
  assert.deepEqual(missingLeaders(meta, [{ name: 'a', partitions: 3 }, { name: 'b' }]), [
    'a: 2 of 3 partitions listed',
    'a/1: no leader',
    'b: 0 of 1 partitions listed',
  ]);
  assert.deepEqual(missingLeaders([{ name: 'a', partitions: [partition(0, 1), partition(1, 1)] }], [{ name: 'a', partitions: 2 }]), []);
});

test('waitForTopicLeaders rides out a cold broker: unknown topic, then no leader, then ready', async () => {
  const admin = scriptedAdmin([
    unknownTopic(),
    new KafkaJSNumberOfRetriesExceeded(unknownTopic(), { retryCount: 5, retryTime: 100 }),
    [{ name: 't', partitions: [partition(0, -1), partition(1, 1)] }],
    [{ name: 't', partitions: [partition(0, 1), partition(1, 1)] }],
  ]);
  await waitForTopicLeaders(admin, [{ name: 't', partitions: 2 }], 10_000);
  assert.equal(admin.calls(), 4);
});

test('waitForTopicLeaders fails after its timeout, naming what has no leader', async () => {
  const admin = scriptedAdmin([[{ name: 't', partitions: [partition(0, 1), partition(1, -1)] }]]);
  await assert.rejects(waitForTopicLeaders(admin, [{ name: 't', partitions: 2 }], 300), /topics not ready after 300 ms.*t\/1: no leader/);
  assert.ok(admin.calls() >= 2, `polled ${admin.calls()} times`);
});

test('waitForTopicLeaders fails at once on an error that is not "not there yet"', async () => {
  const admin = scriptedAdmin([protocolError('denied', 'TOPIC_AUTHORIZATION_FAILED', 29, false)]);
  await assert.rejects(waitForTopicLeaders(admin, [{ name: 't' }], 10_000), /denied/);
  assert.equal(admin.calls(), 1);
});
