import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { TextTokenizer } from '../../src/encoder/tokenizer.js';
import { ensureDefaultModel } from './model-helper.js';

let tokenizerPath: string;

before(async () => {
  tokenizerPath = (await ensureDefaultModel()).tokenizerPath;
});

test('MiniLM (bert-base-uncased vocabulary): "hello world" -> [CLS] hello world [SEP]', async () => {
  const t = await TextTokenizer.fromFiles(tokenizerPath, 128);
  assert.deepEqual(t.encode('hello world'), [101, 7592, 2088, 102]);
  assert.deepEqual(t.encode('Hello   WORLD'), [101, 7592, 2088, 102]); // lower-cased, whitespace folded
  assert.equal(t.padId, 0);
});

test('truncation keeps the special tokens and cuts the text at the maximum', async () => {
  const t = await TextTokenizer.fromFiles(tokenizerPath, 16);
  const long = Array.from({ length: 100 }, () => 'hello').join(' ');
  const ids = t.encode(long);
  assert.equal(ids.length, 16);
  assert.equal(ids[0], 101);
  assert.equal(ids[15], 102);
  assert.deepEqual(ids.slice(1, 15), Array<number>(14).fill(7592));
  assert.equal(t.encode('hello world').length, 4); // short texts are untouched
});

test('a batch is right-padded to its longest row, with a matching mask', async () => {
  const t = await TextTokenizer.fromFiles(tokenizerPath, 128);
  const b = t.encodeBatch(['hello world', 'hello']);
  assert.equal(b.batch, 2);
  assert.equal(b.seq, 4);
  assert.deepEqual(b.lengths, [4, 3]);
  assert.deepEqual(Array.from(b.inputIds, Number), [101, 7592, 2088, 102, 101, 7592, 102, 0]);
  assert.deepEqual(Array.from(b.attentionMask, Number), [1, 1, 1, 1, 1, 1, 1, 0]);
  assert.deepEqual(Array.from(b.tokenTypeIds, Number), [0, 0, 0, 0, 0, 0, 0, 0]);
});

test('a maximum with no room for text is refused', async () => {
  await assert.rejects(TextTokenizer.fromFiles(tokenizerPath, 2), /no room/);
});
