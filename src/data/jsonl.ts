// The user's own logs as JSON Lines (format: docs/datasets.md), validated at the edge: a bad line is reported
// with its file and line number, never passed on.
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import type { ItemListing, UserEvent } from '../codec/index.js';
import { sortByTime, type DatasetRecord } from './stream.js';

export type RecordKind = DatasetRecord['kind'];

/** One offending line. `line` is 1-based. */
export interface LineProblem {
  file: string;
  line: number;
  message: string;
}

export class DatasetFormatError extends Error {
  constructor(readonly problems: LineProblem[]) {
    super(`invalid data set:\n  ${problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n  ')}`);
    this.name = 'DatasetFormatError';
  }
}

/** Stop collecting after this many bad lines: one broken export would otherwise print every line. */
const MAX_PROBLEMS = 20;

/** Epoch milliseconds, or an ISO-8601 date-time with a zone ("2024-05-01T12:00:00Z"). */
const time = z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((s) => Date.parse(s))], {
  error: 'expected epoch milliseconds or an ISO-8601 date-time with a zone',
});
/** Ids are strings on the wire; numeric ids in a log are accepted and written as their decimal text. */
const id = z.union([z.string().min(1), z.number().int().transform(String)], { error: 'expected a non-empty string or an integer' });
const optionalText = z.string().nullish().transform((v) => v ?? null);
const optionalList = z.array(z.string()).nullish().transform((v) => v ?? null);

const listingLine = z.strictObject({
  kind: z.literal('listing').optional(),
  item_id: id,
  title: z.string(),
  category: optionalText,
  brand: optionalText,
  price: z.union([z.string(), z.number().transform(String)]).nullish().transform((v) => v ?? null),
  keywords: optionalList,
  attributes: optionalList,
  listed_at: time,
});

const eventLine = z.strictObject({
  kind: z.literal('event').optional(),
  event_id: z.string().min(1).optional(),
  user_id: id,
  item_id: id,
  type: z.string().min(1),
  ts: time,
  weight: z.number().finite().nullish().transform((v) => v ?? null),
});

const kindOnly = z.object({ kind: z.enum(['listing', 'event']) });

function issues(err: z.ZodError): string {
  return err.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/**
 * Parses JSON Lines text. With `only` every line is of that kind and `kind` may be left out; without it each
 * line names its kind. Events without an event_id get `<file name>:<line>`, stable across runs.
 * Returns records in file order; throws DatasetFormatError listing the bad lines.
 */
export function parseJsonl(text: string, file: string, only?: RecordKind): DatasetRecord[] {
  const out: DatasetRecord[] = [];
  const problems: LineProblem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && problems.length < MAX_PROBLEMS; i++) {
    const raw = (lines[i] ?? '').trim();
    if (raw === '') continue;
    const line = i + 1;
    const bad = (message: string): void => void problems.push({ file, line, message });
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      bad(`not JSON (${(err as Error).message})`);
      continue;
    }
    let kind: RecordKind | undefined = only;
    if (kind === undefined) {
      const k = kindOnly.safeParse(json);
      if (!k.success) {
        bad(`kind: expected "listing" or "event"`);
        continue;
      }
      kind = k.data.kind;
    }
    if (kind === 'listing') {
      const p = listingLine.safeParse(json);
      if (!p.success) bad(issues(p.error));
      else {
        const { kind: _, ...value } = p.data;
        out.push({ kind: 'listing', value: value satisfies ItemListing });
      }
    } else {
      const p = eventLine.safeParse(json);
      if (!p.success) bad(issues(p.error));
      else {
        const { kind: _, event_id, ...rest } = p.data;
        const value: UserEvent = { event_id: event_id ?? `${basename(file)}:${line}`, ...rest };
        out.push({ kind: 'event', value });
      }
    }
  }
  if (problems.length > 0) throw new DatasetFormatError(problems);
  return out;
}

/** Names of the two files of a data set folder. */
export const LISTINGS_FILE = 'listings.jsonl';
export const EVENTS_FILE = 'events.jsonl';

/**
 * A JSON Lines data set: one file whose lines name their kind, or a folder with listings.jsonl and
 * events.jsonl. Returned in time order (stable; a listing before an event of the same millisecond).
 */
export async function loadJsonlDataset(path: string): Promise<DatasetRecord[]> {
  if ((await stat(path)).isDirectory()) {
    const listings = join(path, LISTINGS_FILE);
    const events = join(path, EVENTS_FILE);
    const [l, e] = await Promise.all([readFile(listings, 'utf8'), readFile(events, 'utf8')]);
    const problems: LineProblem[] = [];
    const parse = (text: string, file: string, kind: RecordKind): DatasetRecord[] => {
      try {
        return parseJsonl(text, file, kind);
      } catch (err) {
        if (!(err instanceof DatasetFormatError)) throw err;
        problems.push(...err.problems);
        return [];
      }
    };
    const records = [...parse(l, listings, 'listing'), ...parse(e, events, 'event')];
    if (problems.length > 0) throw new DatasetFormatError(problems);
    return sortByTime(records);
  }
  return sortByTime(parseJsonl(await readFile(path, 'utf8'), path));
}
