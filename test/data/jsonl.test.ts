import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DatasetFormatError, loadJsonlDataset } from '../../src/data/jsonl.js';

const dir = mkdtempSync(join(tmpdir(), 'learn-jsonl-test-'));

function file(name: string, lines: unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return path;
}

test('a good single file: kinds mixed, optional fields defaulted, ISO times and numeric ids accepted, time order', async () => {
  const path = file('good.jsonl', [
    { kind: 'event', event_id: 'e2', user_id: 'u1', item_id: 'i1', type: 'purchase', ts: 3000, weight: 2.5 },
    { kind: 'listing', item_id: 'i1', title: 'Kettle', category: 'Kitchen', price: 19.9, listed_at: 1000 },
    '',
    { kind: 'event', user_id: 7, item_id: 'i1', type: 'click', ts: '1970-01-01T00:00:02Z' },
  ]);
  const records = await loadJsonlDataset(path);
  assert.deepEqual(records, [
    {
      kind: 'listing',
      value: { item_id: 'i1', title: 'Kettle', category: 'Kitchen', brand: null, price: '19.9', keywords: null, attributes: null, listed_at: 1000 },
    },
    { kind: 'event', value: { event_id: 'good.jsonl:4', user_id: '7', item_id: 'i1', type: 'click', ts: 2000, weight: null } },
    { kind: 'event', value: { event_id: 'e2', user_id: 'u1', item_id: 'i1', type: 'purchase', ts: 3000, weight: 2.5 } },
  ]);
});

test('a listing goes before an event of the same millisecond; equal times otherwise keep file order', async () => {
  const path = file('ties.jsonl', [
    { kind: 'event', event_id: 'a', user_id: 'u', item_id: 'x', type: 'click', ts: 5 },
    { kind: 'event', event_id: 'b', user_id: 'u', item_id: 'x', type: 'click', ts: 5 },
    { kind: 'listing', item_id: 'x', title: 'X', listed_at: 5 },
  ]);
  const ids = (await loadJsonlDataset(path)).map((r) => (r.kind === 'listing' ? r.value.item_id : r.value.event_id));
  assert.deepEqual(ids, ['x', 'a', 'b']);
});

test('a folder with listings.jsonl and events.jsonl: kind may be left out', async () => {
  const folder = join(dir, 'two-files');
  mkdirSync(folder);
  writeFileSync(join(folder, 'listings.jsonl'), `${JSON.stringify({ item_id: 'i1', title: 'T', listed_at: 1 })}\n`);
  writeFileSync(join(folder, 'events.jsonl'), `${JSON.stringify({ user_id: 'u', item_id: 'i1', type: 'view', ts: 2 })}\n`);
  const records = await loadJsonlDataset(folder);
  assert.deepEqual(records.map((r) => r.kind), ['listing', 'event']);
  assert.equal(records[1]?.kind === 'event' && records[1].value.event_id, 'events.jsonl:1');
});

test('a bad line is reported with its file and line number, and nothing is returned', async () => {
  const path = file('bad.jsonl', [
    { kind: 'listing', item_id: 'i1', title: 'T', listed_at: 1 },
    '',
    { kind: 'event', user_id: 'u', item_id: 'i1', type: 'click', ts: 'yesterday' },
    '{"kind": "event", "user_id": ',
    { kind: 'purchase', user_id: 'u' },
    { kind: 'listing', item_id: 'i2', title: 'T', listed_at: 1, colour: 'red' },
  ]);
  await assert.rejects(loadJsonlDataset(path), (err: unknown) => {
    assert.ok(err instanceof DatasetFormatError);
    assert.deepEqual(
      err.problems.map((p) => [p.file, p.line]),
      [
        [path, 3],
        [path, 4],
        [path, 5],
        [path, 6],
      ],
    );
    assert.match(err.problems[0]!.message, /^ts: /);
    assert.match(err.problems[1]!.message, /not JSON/);
    assert.match(err.problems[2]!.message, /kind: expected "listing" or "event"/);
    assert.match(err.problems[3]!.message, /colour/);
    assert.match(err.message, new RegExp(`bad\\.jsonl:3: ts: `));
    return true;
  });
});

test('a bad line in the events file of a folder is named with that file', async () => {
  const folder = join(dir, 'two-bad');
  mkdirSync(folder);
  writeFileSync(join(folder, 'listings.jsonl'), `${JSON.stringify({ item_id: 'i1', title: 'T', listed_at: 1 })}\n`);
  writeFileSync(join(folder, 'events.jsonl'), `${JSON.stringify({ user_id: 'u', item_id: 'i1', type: 'view', ts: 2 })}\n${JSON.stringify({ user_id: 'u', type: 'view', ts: 2 })}\n`);
  await assert.rejects(loadJsonlDataset(folder), (err: unknown) => {
    assert.ok(err instanceof DatasetFormatError);
    assert.deepEqual(err.problems.map((p) => [p.file, p.line]), [[join(folder, 'events.jsonl'), 2]]);
    assert.match(err.problems[0]!.message, /item_id/);
    return true;
  });
});
