// Parsing Canonical Form (Avro specification, "Transforming into Parsing Canonical Form").
// avsc's Type#schema() with default options already emits it: full names, only the attributes
// that affect parsing (type, name, fields, symbols, items, values, size) in the spec's order,
// no doc/aliases/defaults/logicalType, minimal JSON. test/codec/canonical-form.test.ts checks
// that against the Avro project's published cases, so a change in avsc shows up there.
import type { Type } from 'avsc';

export function canonicalForm(type: Type): string {
  return JSON.stringify(type.schema());
}
