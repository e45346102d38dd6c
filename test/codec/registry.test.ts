import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMAS_DIR } from '../../src/config/paths.js';
import { RECORD_NAMES } from '../../src/codec/records.js';
import { SchemaRegistry, type SchemaSource } from '../../src/codec/registry.js';

const sources = (): SchemaSource[] =>
  readdirSync(SCHEMAS_DIR)
    .filter((f) => f.endsWith('.avsc'))
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as unknown }));

test('loads every record with its versions; the newest is current', () => {
  const reg = SchemaRegistry.loadDir();
  assert.deepEqual(reg.records(), [...RECORD_NAMES].sort());
  assert.deepEqual(
    reg.versions('UserEvent').map((v) => v.file),
    ['UserEvent.v1.avsc', 'UserEvent.v2.avsc'],
  );
  assert.equal(reg.current('UserEvent').version, 2);
  assert.equal(reg.current('ItemListing').fullName, 'learn.ItemListing');
  for (const record of reg.records()) {
    for (const v of reg.versions(record)) assert.equal(reg.byFingerprint(v.fingerprint), v);
  }
  assert.equal(reg.byFingerprint(42n), undefined);
  assert.throws(() => reg.current('Nope'), /unknown record Nope/);
});

test('every record and field in schemas/ carries a doc', () => {
  for (const { file, json } of sources()) {
    const schema = json as { doc?: string; fields: { name: string; doc?: string }[] };
    assert.ok(schema.doc, `${file}: record doc`);
    for (const f of schema.fields) assert.ok(f.doc && f.doc.length > 10, `${file}: ${f.name} doc`);
  }
});

test('older versions are a prefix of newer ones, and added fields have defaults', () => {
  type Schema = { fields: { name: string; default?: unknown }[] };
  const reg = SchemaRegistry.loadDir();
  for (const record of reg.records()) {
    const versions = reg.versions(record).map((v) => v.type.schema({ exportAttrs: true }) as Schema);
    for (let i = 1; i < versions.length; i++) {
      const [older, newer] = [versions[i - 1] as Schema, versions[i] as Schema];
      assert.deepEqual(
        newer.fields.slice(0, older.fields.length).map((f) => f.name),
        older.fields.map((f) => f.name),
        `${record} v${i + 1} keeps v${i}'s fields`,
      );
      for (const added of newer.fields.slice(older.fields.length)) {
        assert.ok('default' in added, `${record}.${added.name} added without a default`);
      }
    }
  }
});

test('rejects a new version that cannot read an older one (field added without default)', () => {
  const v2 = sources().find((s) => s.file === 'UserEvent.v2.avsc');
  assert.ok(v2);
  const bad = structuredClone(v2.json) as { fields: object[] };
  bad.fields.push({ name: 'session', type: 'string', doc: 'no default: breaks old data' });
  assert.throws(() => new SchemaRegistry([...sources(), { file: 'UserEvent.v3.avsc', json: bad }]), /cannot read data written with/);
});

test('rejects badly named files, name mismatches and duplicate canonical forms', () => {
  const v1 = sources().find((s) => s.file === 'UserEvent.v1.avsc');
  assert.ok(v1);
  assert.throws(() => new SchemaRegistry([{ file: 'UserEvent.avsc', json: v1.json }]), /must be named/);
  assert.throws(() => new SchemaRegistry([{ file: 'ItemListing.v1.avsc', json: v1.json }]), /file name says ItemListing/);
  assert.throws(
    () => new SchemaRegistry([v1, { file: 'UserEvent.v9.avsc', json: v1.json }]),
    /same canonical form as UserEvent.v1.avsc/,
  );
  assert.throws(() => new SchemaRegistry([{ file: 'X.v1.avsc', json: 'string' }]), /named record/);
});
