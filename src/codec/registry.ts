// Every schema version in schemas/, keyed by the CRC-64-AVRO fingerprint of its canonical form.
// Readers keep all versions so bytes written by any released writer still decode; the newest
// version of each record is both the writer and the reader schema.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import avsc, { type Type } from 'avsc';
import { SCHEMAS_DIR } from '../config/paths.js';
import { canonicalForm } from './canonical.js';
import { fingerprintHex, schemaFingerprint } from './rabin.js';

export interface SchemaVersion {
  /** Short record name, e.g. `UserEvent` (the schema's name without namespace). */
  readonly record: string;
  /** Full Avro name, e.g. `learn.UserEvent`. */
  readonly fullName: string;
  readonly version: number;
  /** File name within the schemas folder, e.g. `UserEvent.v2.avsc`. */
  readonly file: string;
  readonly type: Type;
  /** Parsing Canonical Form text. */
  readonly canonical: string;
  /** CRC-64-AVRO of `canonical`, unsigned. */
  readonly fingerprint: bigint;
}

/** `<Record>.v<N>.avsc` */
const FILE_NAME = /^([A-Za-z_][A-Za-z0-9_]*)\.v([1-9][0-9]*)\.avsc$/;

/** One parsed schema file, before it is checked against its siblings. */
export interface SchemaSource {
  file: string;
  json: unknown;
}

export class SchemaRegistry {
  private readonly byRecord = new Map<string, SchemaVersion[]>();
  private readonly byFp = new Map<bigint, SchemaVersion>();

  /** Reads every `*.avsc` in `dir` (default: the project's schemas/). Throws on any broken file or rule. */
  static loadDir(dir: string = SCHEMAS_DIR): SchemaRegistry {
    const files = readdirSync(dir).filter((f) => f.endsWith('.avsc')).sort();
    if (files.length === 0) throw new Error(`no .avsc files in ${dir}`);
    return new SchemaRegistry(
      files.map((file) => {
        const text = readFileSync(join(dir, file), 'utf8');
        try {
          return { file, json: JSON.parse(text) as unknown };
        } catch (err) {
          throw new Error(`${file}: not JSON: ${(err as Error).message}`);
        }
      }),
    );
  }

  constructor(sources: readonly SchemaSource[]) {
    for (const src of sources) this.add(src);
    for (const [record, versions] of this.byRecord) {
      versions.sort((a, b) => a.version - b.version);
      checkEvolution(record, versions);
    }
  }

  /** Short names of all records, sorted. */
  records(): string[] {
    return [...this.byRecord.keys()].sort();
  }

  /** All versions of a record, oldest first. */
  versions(record: string): readonly SchemaVersion[] {
    const versions = this.byRecord.get(record);
    if (!versions) throw new Error(`unknown record ${record}; known: ${this.records().join(', ')}`);
    return versions;
  }

  /** The newest version: what writers write and what readers resolve into. */
  current(record: string): SchemaVersion {
    const versions = this.versions(record);
    return versions[versions.length - 1] as SchemaVersion;
  }

  version(record: string, version: number): SchemaVersion {
    const found = this.versions(record).find((v) => v.version === version);
    if (!found) throw new Error(`no version ${version} of ${record}`);
    return found;
  }

  byFingerprint(fingerprint: bigint): SchemaVersion | undefined {
    return this.byFp.get(fingerprint);
  }

  private add({ file, json }: SchemaSource): void {
    const m = FILE_NAME.exec(file);
    if (!m) throw new Error(`${file}: schema files must be named <Record>.v<N>.avsc`);
    const [, fileRecord, versionText] = m as unknown as [string, string, string];
    let type: Type;
    try {
      // 'auto': unions of null and one type stay plain values (null | T) rather than wrapped objects.
      type = avsc.Type.forSchema(json as avsc.Schema, { wrapUnions: 'auto' });
    } catch (err) {
      throw new Error(`${file}: invalid Avro schema: ${(err as Error).message}`);
    }
    const fullName = type.name;
    if (!(type instanceof avsc.types.RecordType) || fullName === undefined) {
      throw new Error(`${file}: top-level schema must be a named record`);
    }
    const record = fullName.slice(fullName.lastIndexOf('.') + 1);
    if (record !== fileRecord) throw new Error(`${file}: file name says ${fileRecord}, schema says ${fullName}`);

    const canonical = canonicalForm(type);
    const version: SchemaVersion = {
      record,
      fullName,
      version: Number(versionText),
      file,
      type,
      canonical,
      fingerprint: schemaFingerprint(canonical),
    };
    const clash = this.byFp.get(version.fingerprint);
    if (clash) {
      throw new Error(`${file}: same canonical form as ${clash.file} (fingerprint ${fingerprintHex(version.fingerprint)})`);
    }
    const siblings = this.byRecord.get(record) ?? [];
    const sameVersion = siblings.find((v) => v.version === version.version);
    if (sameVersion) throw new Error(`${file}: version ${version.version} of ${record} also in ${sameVersion.file}`);
    if (siblings[0] && siblings[0].fullName !== fullName) {
      throw new Error(`${file}: full name ${fullName} differs from ${siblings[0].fullName} in ${siblings[0].file}`);
    }
    siblings.push(version);
    this.byRecord.set(record, siblings);
    this.byFp.set(version.fingerprint, version);
  }
}

/** The newest version must read every older one (the "add fields only with defaults" rule, enforced). */
function checkEvolution(record: string, versions: readonly SchemaVersion[]): void {
  const reader = versions[versions.length - 1] as SchemaVersion;
  for (const writer of versions.slice(0, -1)) {
    try {
      reader.type.createResolver(writer.type);
    } catch (err) {
      throw new Error(`${record}: ${reader.file} cannot read data written with ${writer.file}: ${(err as Error).message}`);
    }
  }
}
