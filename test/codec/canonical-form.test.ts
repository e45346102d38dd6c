import { test } from 'node:test';
import assert from 'node:assert/strict';
import avsc from 'avsc';
import { canonicalForm } from '../../src/codec/canonical.js';
import { schemaFingerprint } from '../../src/codec/rabin.js';
import { SchemaRegistry } from '../../src/codec/registry.js';
import { SCHEMA_TESTS } from './fixtures/avro-schema-tests.js';

// Cases avsc refuses to parse at all (stricter than the canonicalisation test needs):
// 016 is the empty union [], 026 has a string default "true" on a boolean field.
const AVSC_REJECTS = new Set(['016', '026']);

const parse = (input: string) => avsc.Type.forSchema(JSON.parse(input) as avsc.Schema, { wrapUnions: 'auto' });

test("avsc's Type#schema() is the spec's Parsing Canonical Form on the published cases", () => {
  for (const c of SCHEMA_TESTS) {
    if (AVSC_REJECTS.has(c.id)) continue;
    assert.equal(canonicalForm(parse(c.input)), c.canonical, `case ${c.id}`);
  }
});

test('the cases avsc rejects are rejected at parse time (never silently mis-canonicalised)', () => {
  for (const id of AVSC_REJECTS) {
    const c = SCHEMA_TESTS.find((x) => x.id === id);
    assert.ok(c);
    assert.throws(() => parse(c.input), `case ${id}`);
  }
});

test('parsing then fingerprinting a published input gives the published fingerprint of its canonical form', () => {
  const published = new Map<string, string>();
  for (const c of SCHEMA_TESTS) if (c.fingerprint) published.set(c.canonical, c.fingerprint);
  for (const c of SCHEMA_TESTS) {
    if (AVSC_REJECTS.has(c.id)) continue;
    const expected = published.get(c.canonical);
    assert.ok(expected, `case ${c.id} has a published fingerprint for its canonical form`);
    assert.equal(BigInt.asIntN(64, schemaFingerprint(canonicalForm(parse(c.input)))).toString(), expected, `case ${c.id}`);
  }
});

test('canonical forms of our schemas drop doc, default and logicalType but keep full names', () => {
  const v2 = SchemaRegistry.loadDir().version('UserEvent', 2);
  assert.equal(
    v2.canonical,
    '{"name":"learn.UserEvent","type":"record","fields":[{"name":"event_id","type":"string"},' +
      '{"name":"user_id","type":"string"},{"name":"item_id","type":"string"},{"name":"type","type":"string"},' +
      '{"name":"ts","type":"long"},{"name":"weight","type":["null","double"]}]}',
  );
});
