// RecBole/UniSRec sequential atomic files: NAME.text (item text), NAME.{valid,test}.inter (each user's items in
// order, as history + target), NAME.item2index and NAME.user2index (original ids -> the files' indexes). No
// timestamps: the data set is each user's sequence, for the leave-one-out protocol, not a time-ordered stream.
// NAME.train.inter lists every prefix of the training part, which the test file's sequence already holds.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ItemListing } from '../codec/index.js';
import { columnIndex, parseAtomicFile } from './atomic-file.js';

/** One user's interactions, oldest first. */
export interface UserSequence {
  userId: string;
  items: string[];
}

/** A data set of ordered sequences with item text and no times. */
export interface SequenceDataset {
  /** Every item with text (listed_at 0: there is no time). */
  listings: ItemListing[];
  users: UserSequence[];
}

export class SequenceFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SequenceFormatError';
  }
}

/** The NAME of the sequence files in `dir` (a folder with NAME.text and NAME.test.inter), or undefined. */
export function sequenceFilesName(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  const names = entries.filter((f) => f.endsWith('.test.inter')).map((f) => f.slice(0, -'.test.inter'.length));
  return names.find((n) => entries.includes(`${n}.text`));
}

/** `original<TAB>index` lines (no header) -> index -> original id. */
export function parseIndexFile(text: string, source: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const [id, index, ...rest] = line.split('\t');
    if (!id || index === undefined || rest.length > 0 || !/^\d+$/.test(index.trim())) {
      throw new SequenceFormatError(`${source}:${i + 1}: expected "id<TAB>index", got "${line.slice(0, 80)}"`);
    }
    if (out.has(index.trim())) throw new SequenceFormatError(`${source}:${i + 1}: index ${index.trim()} given twice`);
    out.set(index.trim(), id);
  });
  return out;
}

/** One history + target row of a .inter file, ids mapped back to the originals. */
interface InterRow {
  line: number;
  user: string;
  history: string[];
  target: string;
}

function parseInter(text: string, source: string, users: ReadonlyMap<string, string>, items: ReadonlyMap<string, string>): InterRow[] {
  const t = parseAtomicFile(text, source);
  const [u, list, target] = ['user_id', 'item_id_list', 'item_id'].map((c) => columnIndex(t, c, source)) as [number, number, number];
  return t.rows.map((cells, k) => {
    const line = k + 2;
    const map = (ids: ReadonlyMap<string, string>, raw: string, field: string): string => {
      const id = ids.get(raw.trim());
      if (id === undefined) throw new SequenceFormatError(`${source}:${line}: field "${field}": index "${raw}" is not in the index file`);
      return id;
    };
    const history = (cells[list] ?? '').split(' ').filter((x) => x !== '');
    return {
      line,
      user: map(users, cells[u] ?? '', 'user_id'),
      history: history.map((x) => map(items, x, 'item_id_list')),
      target: map(items, cells[target] ?? '', 'item_id'),
    };
  });
}

/**
 * Builds the data set: a user's sequence is its test row's history and target; its validation row must be the same
 * sequence without the last item (else the files disagree, and the error says where).
 */
export function sequenceDataset(files: {
  name: string;
  text: string;
  test: string;
  valid: string;
  item2index: string;
  user2index: string;
}): SequenceDataset {
  const src = (ext: string): string => `${files.name}.${ext}`;
  const items = parseIndexFile(files.item2index, src('item2index'));
  const users = parseIndexFile(files.user2index, src('user2index'));
  const textTable = parseAtomicFile(files.text, src('text'));
  const [idCol, textCol] = ['item_id', 'text'].map((c) => columnIndex(textTable, c, src('text'))) as [number, number];
  const listings: ItemListing[] = textTable.rows.map((cells, k) => {
    const text = (cells[textCol] ?? '').trim();
    if (text === '') throw new SequenceFormatError(`${src('text')}:${k + 2}: field "text" is empty`);
    return { item_id: (cells[idCol] ?? '').trim(), title: text, category: null, brand: null, price: null, keywords: null, attributes: null, listed_at: 0 };
  });
  const test = parseInter(files.test, src('test.inter'), users, items);
  const valid = new Map(parseInter(files.valid, src('valid.inter'), users, items).map((r) => [r.user, r]));
  const sequences: UserSequence[] = test.map((r) => {
    const seq = [...r.history, r.target];
    const v = valid.get(r.user);
    if (v && (v.target !== seq.at(-2) || v.history.join(' ') !== seq.slice(-2 - v.history.length, -2).join(' '))) {
      throw new SequenceFormatError(`${src('valid.inter')}:${v.line}: user ${r.user}'s validation row is not its test sequence (${src('test.inter')}:${r.line}) without the last item`);
    }
    return { userId: r.user, items: seq };
  });
  return { listings, users: sequences };
}

/** Reads the sequence files NAME.* in `dir`. */
export async function loadSequenceDataset(dir: string, name = sequenceFilesName(dir)): Promise<SequenceDataset> {
  if (name === undefined) throw new SequenceFormatError(`${dir}: no NAME.text with NAME.test.inter (RecBole/UniSRec sequence files)`);
  const read = (ext: string): Promise<string> => readFile(join(dir, `${name}.${ext}`), 'utf8');
  const [text, test, valid, item2index, user2index] = await Promise.all(['text', 'test.inter', 'valid.inter', 'item2index', 'user2index'].map(read)) as [
    string,
    string,
    string,
    string,
    string,
  ];
  return sequenceDataset({ name: join(dir, name), text, test, valid, item2index, user2index });
}

/** What `learn data stats` prints for a sequence data set. */
export interface SequenceStats {
  users: number;
  items: number;
  itemsWithText: number;
  /** Interacted items with no text (a content model cannot score them). */
  itemsWithoutText: number;
  interactions: number;
  perUser: { mean: number; min: number; max: number };
  perItemMean: number;
}

export function sequenceStats(d: SequenceDataset): SequenceStats {
  const withText = new Set(d.listings.map((l) => l.item_id));
  const items = new Set<string>();
  let interactions = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (const u of d.users) {
    for (const i of u.items) items.add(i);
    interactions += u.items.length;
    min = Math.min(min, u.items.length);
    max = Math.max(max, u.items.length);
  }
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    users: d.users.length,
    items: items.size,
    itemsWithText: withText.size,
    itemsWithoutText: [...items].filter((i) => !withText.has(i)).length,
    interactions,
    perUser: { mean: round(interactions / Math.max(1, d.users.length)), min: d.users.length > 0 ? min : 0, max },
    perItemMean: round(interactions / Math.max(1, items.size)),
  };
}
