// decode must either return a value or throw CodecError, whatever the bytes: the consumer sends
// anything else it throws to nowhere useful, while CodecError goes to the dead-letter queue.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { AvroCodec } from '../../src/codec/codec.js';
import { CODEC_ERROR_REASONS, CodecError } from '../../src/codec/errors.js';
import type { RecordName } from '../../src/codec/records.js';
import { SchemaRegistry } from '../../src/codec/registry.js';
import { CONTENT, EVENT, LISTING } from './samples.js';
import { rng } from '../support/random.js';

const codec = new AvroCodec(SchemaRegistry.loadDir());
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);


const rand = rng(SEED);
const int = (n: number): number => Math.floor(rand() * n);
const randomBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));

const RECORDS: RecordName[] = ['ItemListing', 'UserEvent', 'ItemContent'];
const { weight: _v2Only, ...V1_EVENT } = EVENT;
const VALID: Buffer[] = [
  codec.encode('ItemListing', LISTING),
  codec.encode('UserEvent', EVENT),
  codec.encode('ItemContent', CONTENT),
  codec.encodeWith(codec.registry.version('UserEvent', 1), V1_EVENT),
];
const HEADERS = VALID.map((b) => b.subarray(0, 10));

/** decode outcome: 'ok' or the CodecError reason; anything else fails the test. */
function outcome(record: RecordName, bytes: Buffer): string {
  try {
    codec.decode(record, bytes);
    return 'ok';
  } catch (err) {
    if (!(err instanceof CodecError)) assert.fail(`seed ${SEED}: non-CodecError ${String(err)} for ${bytes.toString('hex')}`);
    assert.ok(CODEC_ERROR_REASONS.includes(err.reason));
    return err.reason;
  }
}

/** The record a message claims to be, usually; sometimes another one to exercise wrong-record. */
function recordFor(bytes: Buffer): RecordName {
  if (int(10) === 0) return RECORDS[int(RECORDS.length)] as RecordName;
  try {
    return codec.writerOf(bytes).record as RecordName;
  } catch {
    return RECORDS[int(RECORDS.length)] as RecordName;
  }
}

function run(t: TestContext, label: string, count: number, make: () => Buffer): Map<string, number> {
  const seen = new Map<string, number>();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const bytes = make();
    const r = outcome(recordFor(bytes), bytes);
    seen.set(r, (seen.get(r) ?? 0) + 1);
  }
  assert.ok(performance.now() - start < 5000, `${label} too slow`);
  t.diagnostic(`seed ${SEED} ${label}: ${JSON.stringify(Object.fromEntries(seen))}`);
  return seen;
}

test('fuzz: fully random buffers', (t) => {
  const seen = run(t, 'random', 3000, () => randomBytes(int(64)));
  assert.ok((seen.get('bad-magic') ?? 0) > 0);
});

test('fuzz: valid headers with random bodies reach the body checks', (t) => {
  const seen = run(t, 'random body', 4000, () => Buffer.concat([HEADERS[int(HEADERS.length)] as Buffer, randomBytes(int(80))]));
  for (const reason of ['truncated', 'malformed-body', 'wrong-record']) assert.ok((seen.get(reason) ?? 0) > 0, reason);
});

test('fuzz: mutated valid messages (byte flips, cuts, insertions)', (t) => {
  const seen = run(t, 'mutations', 4000, () => {
    const b = Buffer.from(VALID[int(VALID.length)] as Buffer);
    const mutated = int(3);
    if (mutated === 0) {
      for (let k = 1 + int(3); k > 0; k--) b[10 + int(b.length - 10)] = int(256);
      return b;
    }
    if (mutated === 1) return b.subarray(0, int(b.length + 1));
    const at = 10 + int(b.length - 9);
    return Buffer.concat([b.subarray(0, at), randomBytes(1 + int(4)), b.subarray(at)]);
  });
  assert.ok((seen.get('ok') ?? 0) > 0, 'some mutations still decode');
});
