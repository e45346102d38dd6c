import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { hiddenStateOutput, runHiddenStates } from '../../src/encoder/forward.js';
import { createOnnxSession, cudaProviderInstalled } from '../../src/encoder/onnx-session.js';
import { TextTokenizer } from '../../src/encoder/tokenizer.js';
import { ensureDefaultModel } from './model-helper.js';

let onnxPath: string;
let tokenizerPath: string;

before(async () => {
  ({ onnxPath, tokenizerPath } = await ensureDefaultModel());
});

test('auto picks CUDA where its provider is installed and falls back to CPU otherwise', async () => {
  const { session, provider } = await createOnnxSession(onnxPath, { device: 'auto', intraOpNumThreads: 2 });
  try {
    assert.equal(provider, cudaProviderInstalled() ? 'cuda' : 'cpu');
    const tok = await TextTokenizer.fromFiles(tokenizerPath, 128);
    const h = await runHiddenStates(session, tok.encodeBatch(['hello world', 'hi']), hiddenStateOutput(session));
    assert.deepEqual([h.batch, h.seq, h.hidden], [2, 4, 384]);
  } finally {
    await session.release();
  }
});

test('asking for CUDA where it is not installed is a clear error', { skip: cudaProviderInstalled() }, async () => {
  await assert.rejects(createOnnxSession(onnxPath, { device: 'cuda' }), /no CUDA provider library/);
});
