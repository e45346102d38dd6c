import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../../src/config/paths.js';
import { loadSequenceDataset, sequenceDataset, sequenceFilesName, sequenceStats } from '../../src/data/sequences.js';

const FIXTURE = join(PROJECT_ROOT, 'test/fixtures/sequences');
const files = (): Parameters<typeof sequenceDataset>[0] => {
  const read = (ext: string): string => readFileSync(join(FIXTURE, `Tiny.${ext}`), 'utf8');
  return { name: 'Tiny', text: read('text'), test: read('test.inter'), valid: read('valid.inter'), item2index: read('item2index'), user2index: read('user2index') };
};

test('the fixture: each user sequence in order with original ids, every item listed with its text', async () => {
  assert.equal(sequenceFilesName(FIXTURE), 'Tiny');
  const d = await loadSequenceDataset(FIXTURE);
  assert.deepEqual(d.users, [
    { userId: 'U1', items: ['A', 'B', 'C', 'D'] },
    { userId: 'U2', items: ['B', 'C', 'A'] },
  ]);
  assert.equal(d.listings.find((l) => l.item_id === 'A')?.title, 'Glue, waterproof. Adhesives. Gorilla.');
  assert.deepEqual(sequenceStats(d), {
    users: 2,
    items: 4,
    itemsWithText: 4,
    itemsWithoutText: 0,
    interactions: 7,
    perUser: { mean: 3.5, min: 3, max: 4 },
    perItemMean: 1.75,
  });
});

test('malformed files fail naming the file, the line and the field', () => {
  const f = files();
  assert.throws(() => sequenceDataset({ ...f, test: f.test.replace('0 1 2\t3', '0 1 9\t3') }), /Tiny\.test\.inter:2: field "item_id_list": index "9" is not in the index file/);
  assert.throws(() => sequenceDataset({ ...f, valid: f.valid.replace('0\t0 1\t2', '0\t0 1\t3') }), /Tiny\.valid\.inter:2: user U1's validation row is not its test sequence \(Tiny\.test\.inter:2\)/);
  assert.throws(() => sequenceDataset({ ...f, item2index: 'A\t0\nB\n' }), /Tiny\.item2index:2: expected "id<TAB>index"/);
  assert.throws(() => sequenceDataset({ ...f, text: f.text.replace('Tape. Adhesives. 3M.', ' ') }), /Tiny\.text:3: field "text" is empty/);
});
