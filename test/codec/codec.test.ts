import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AvroCodec, decode, encode } from '../../src/codec/codec.js';
import { CODEC_ERROR_REASONS, CodecError, type CodecErrorReason } from '../../src/codec/errors.js';
import { SchemaRegistry } from '../../src/codec/registry.js';
import { CONTENT, EVENT, LISTING } from './samples.js';

const codec = new AvroCodec(SchemaRegistry.loadDir());
const reg = codec.registry;

function throwsReason(fn: () => unknown, reason: CodecErrorReason, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CodecError, `expected CodecError, got ${String(err)}`);
    assert.equal(err.reason, reason, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** A single-object header with an arbitrary fingerprint. */
function headerFor(fp: bigint): Buffer {
  const h = Buffer.alloc(10);
  h[0] = 0xc3;
  h[1] = 0x01;
  h.writeBigUInt64LE(fp, 2);
  return h;
}

test('round trip of each record type', () => {
  assert.deepEqual({ ...codec.decode('ItemListing', codec.encode('ItemListing', LISTING)) }, LISTING);
  assert.deepEqual({ ...codec.decode('UserEvent', codec.encode('UserEvent', EVENT)) }, EVENT);
  const content = codec.decode('ItemContent', codec.encode('ItemContent', CONTENT));
  assert.deepEqual({ ...content }, CONTENT);
  assert.deepEqual([...new Float32Array(new Uint8Array(content.vector).buffer)], [0.25, -0.5, 0.125, 1]);
  const sparse = { ...LISTING, category: null, price: null, keywords: null, attributes: null };
  assert.deepEqual({ ...codec.decode('ItemListing', codec.encode('ItemListing', sparse)) }, sparse);
});

test('module-level encode/decode use the schemas/ registry', () => {
  assert.deepEqual({ ...decode('UserEvent', encode('UserEvent', EVENT)) }, EVENT);
});

test('messages are single-object encoded: C3 01, LE fingerprint of the current writer, Avro body', () => {
  const bytes = codec.encode('UserEvent', EVENT);
  assert.equal(bytes[0], 0xc3);
  assert.equal(bytes[1], 0x01);
  assert.equal(bytes.readBigUInt64LE(2), reg.current('UserEvent').fingerprint);
  assert.deepEqual(bytes.subarray(10), reg.current('UserEvent').type.toBuffer(EVENT));
  assert.equal(codec.writerOf(bytes).file, 'UserEvent.v2.avsc');
});

test('schema evolution: a UserEvent written with v1 reads as the current version with weight null', () => {
  const v1 = reg.version('UserEvent', 1);
  const { weight: _dropped, ...oldEvent } = EVENT;
  const bytes = codec.encodeWith(v1, oldEvent);
  assert.equal(codec.writerOf(bytes).version, 1);
  assert.notEqual(v1.fingerprint, reg.current('UserEvent').fingerprint);
  const read = codec.decode('UserEvent', bytes);
  assert.deepEqual({ ...read }, { ...oldEvent, weight: null });
  // The cached resolver is reused on the next message.
  assert.deepEqual({ ...codec.decode('UserEvent', bytes) }, { ...oldEvent, weight: null });
});

test('decode accepts a Uint8Array view into a larger buffer', () => {
  const bytes = codec.encode('UserEvent', EVENT);
  const big = new Uint8Array(bytes.length + 7);
  big.set(bytes, 3);
  assert.deepEqual({ ...codec.decode('UserEvent', big.subarray(3, 3 + bytes.length)) }, EVENT);
});

test('too-short: fewer bytes than a header', () => {
  throwsReason(() => codec.decode('UserEvent', Buffer.alloc(0)), 'too-short');
  throwsReason(() => codec.decode('UserEvent', Buffer.from([0xc3, 0x01, 1, 2, 3])), 'too-short');
});

test('bad-magic: garbage bytes, or a message with a wrong marker', () => {
  throwsReason(() => codec.decode('UserEvent', Buffer.from('{"user_id":"u-7","json":"not avro"}')), 'bad-magic', /0x7b22/);
  const bytes = codec.encode('UserEvent', EVENT);
  bytes[1] = 0x02;
  throwsReason(() => codec.decode('UserEvent', bytes), 'bad-magic');
});

test('unknown-fingerprint names the fingerprint in hex', () => {
  const bytes = Buffer.concat([headerFor(0x0123456789abcdefn), Buffer.from([0])]);
  throwsReason(() => codec.decode('UserEvent', bytes), 'unknown-fingerprint', /0123456789abcdef/);
});

test('wrong-record: a known fingerprint of another record type', () => {
  throwsReason(
    () => codec.decode('UserEvent', codec.encode('ItemContent', CONTENT)),
    'wrong-record',
    /expected UserEvent.*ItemContent\.v1\.avsc/,
  );
});

test('truncated: the body ends early, at every cut point', () => {
  const bytes = codec.encode('ItemListing', LISTING);
  for (let end = 10; end < bytes.length; end++) {
    throwsReason(() => codec.decode('ItemListing', bytes.subarray(0, end)), 'truncated');
  }
});

test('truncated: a forged huge array count is refused before avsc allocates it', () => {
  const listing = reg.current('ItemListing');
  const prefix = listing.type.toBuffer({ ...LISTING, keywords: null, attributes: null, listed_at: 0 });
  // Body up to `keywords`, then keywords = union branch 1 with a block count of 2^31 in 6 bytes.
  const body = Buffer.concat([
    prefix.subarray(0, prefix.length - 3), // strip keywords null, attributes null, listed_at 0
    Buffer.from([0x02, 0x80, 0x80, 0x80, 0x80, 0x10]), // union index 1, then block count 2^31 (zigzag)
  ]);
  const start = performance.now();
  throwsReason(() => codec.decode('ItemListing', Buffer.concat([headerFor(listing.fingerprint), body])), 'truncated', /keywords/);
  assert.ok(performance.now() - start < 100);
});

test('trailing-bytes: bytes after a complete value', () => {
  const bytes = Buffer.concat([codec.encode('UserEvent', EVENT), Buffer.from([0])]);
  throwsReason(() => codec.decode('UserEvent', bytes), 'trailing-bytes', /1 bytes/);
});

test('malformed-body: bad union index, bad UTF-8, a long beyond 2^53', () => {
  const v2 = reg.current('UserEvent');
  const nullWeight = codec.encode('UserEvent', { ...EVENT, weight: null });
  assert.equal(nullWeight[nullWeight.length - 1], 0x00);
  const badUnion = Buffer.from(nullWeight);
  badUnion[badUnion.length - 1] = 0x04; // branch 2 of ["null","double"]
  throwsReason(() => codec.decode('UserEvent', badUnion), 'malformed-body', /weight: union index 2/);

  const badUtf8 = codec.encode('UserEvent', { ...EVENT, event_id: 'ab' });
  badUtf8[11] = 0xff; // first byte of event_id's text (after its length byte)
  throwsReason(() => codec.decode('UserEvent', badUtf8), 'malformed-body', /event_id: string is not UTF-8/);

  const strings = v2.type.toBuffer({ ...EVENT, ts: 0, weight: null });
  const hugeTs = Buffer.concat([
    headerFor(v2.fingerprint),
    strings.subarray(0, strings.length - 2), // drop ts (0x00) and weight (0x00)
    Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x00]), // ts = 2^62, weight null
  ]);
  throwsReason(() => codec.decode('UserEvent', hugeTs), 'malformed-body', /precision/);
});

test('invalid-value: encode names the offending field path', () => {
  throwsReason(
    () => codec.encode('UserEvent', { ...EVENT, ts: 'yesterday' as unknown as number }),
    'invalid-value',
    /UserEvent ts: "yesterday" is not/,
  );
  throwsReason(
    () => codec.encode('ItemListing', { ...LISTING, keywords: ['ok', 7 as unknown as string] }),
    'invalid-value',
    /keywords\.1: 7 is not string/,
  );
  throwsReason(
    () => codec.encode('UserEvent', { ...EVENT, weigth: 2 } as unknown as typeof EVENT),
    'invalid-value',
    /undeclared field\(s\) weigth/,
  );
  throwsReason(() => codec.encode('UserEvent', { ...EVENT, user_id: null } as unknown as typeof EVENT), 'invalid-value', /user_id: null/);
});

test('a missing optional field encodes as its default (avsc fills undefined with the field default)', () => {
  const { weight: _omitted, ...noWeight } = EVENT;
  const read = codec.decode('UserEvent', codec.encode('UserEvent', noWeight as typeof EVENT));
  assert.equal(read.weight, null);
});

test('error reasons are short kebab-case codes, every one triggered above', () => {
  for (const r of CODEC_ERROR_REASONS) assert.match(r, /^[a-z]+(-[a-z]+)*$/);
  const err = new CodecError('truncated', 'x');
  assert.equal(err.name, 'CodecError');
  assert.equal(err.message, 'truncated: x');
});
