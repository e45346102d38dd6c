import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RABIN_EMPTY, fingerprintHex, rabinFingerprint, schemaFingerprint } from '../../src/codec/rabin.js';
import { SCHEMA_TESTS, SPEC_EMPTY_FINGERPRINT } from './fixtures/avro-schema-tests.js';

const signed = (fp: bigint): string => BigInt.asIntN(64, fp).toString();

test('the fingerprint of empty input is the specification EMPTY constant', () => {
  assert.equal(RABIN_EMPTY, SPEC_EMPTY_FINGERPRINT);
  assert.equal(rabinFingerprint(new Uint8Array(0)), SPEC_EMPTY_FINGERPRINT);
});

test('CRC-64-AVRO of canonical forms matches the values published in the Avro repository', () => {
  const withFp = SCHEMA_TESTS.filter((c) => c.fingerprint !== null);
  assert.ok(withFp.length >= 25, 'fixture should hold the published fingerprint cases');
  for (const c of withFp) {
    assert.equal(signed(schemaFingerprint(c.canonical)), c.fingerprint, `case ${c.id}: ${c.canonical}`);
  }
});

test('fingerprints are unsigned 64-bit values and print as 16 hex digits', () => {
  for (const c of SCHEMA_TESTS) {
    const fp = schemaFingerprint(c.canonical);
    assert.ok(fp >= 0n && fp < 1n << 64n);
    assert.match(fingerprintHex(fp), /^[0-9a-f]{16}$/);
  }
  assert.equal(fingerprintHex(1n), '0000000000000001');
});

test('fingerprinting a schema-sized input is fast enough for schema loads', () => {
  const text = new TextEncoder().encode('x'.repeat(10_000));
  const start = performance.now();
  rabinFingerprint(text);
  assert.ok(performance.now() - start < 500);
});
