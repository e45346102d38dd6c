import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CsvFormatError, parseCsv } from '../../src/data/csv.js';

test('quoted fields keep commas, doubled quotes and line breaks; rows keep the line they start on', () => {
  const t = parseCsv('a,b,c\r\n1,"x, y",z\n2,"say ""hi""","two\nlines"\n\n3,,\n', 'f.csv');
  assert.deepEqual(t.header, ['a', 'b', 'c']);
  assert.deepEqual(
    t.rows.map((r) => [r.line, r.cells]),
    [
      [2, ['1', 'x, y', 'z']],
      [3, ['2', 'say "hi"', 'two\nlines']],
      [6, ['3', '', '']],
    ],
  );
});

test('a byte-order mark and a last row without a newline are read', () => {
  const t = parseCsv('\ufeffid,v\n1,2', 'f.csv');
  assert.deepEqual(t.header, ['id', 'v']);
  assert.deepEqual(t.rows[0]?.cells, ['1', '2']);
});

test('malformed rows fail naming the file and line', () => {
  assert.throws(() => parseCsv('a,b\n1,2\n3\n', 'f.csv'), (e: unknown) => e instanceof CsvFormatError && /^f\.csv:3: 1 fields, the header has 2$/.test(e.message));
  assert.throws(() => parseCsv('a,b\n1,"open\n', 'f.csv'), /f\.csv:2: field 2: quote never closed/);
  assert.throws(() => parseCsv('a,b\n1,"x"y\n', 'f.csv'), /f\.csv:2: field 2: text after a closing quote/);
  assert.throws(() => parseCsv('', 'f.csv'), /f\.csv:1: empty file/);
});
