import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { LlmItemEncoder } from '../../src/encoder/llm-encoder.js';
import { fetchLlmModel, type LlmModelFiles } from '../../src/encoder/llm-fetch.js';
import { probeLlm, usableLlmDevice } from '../../src/encoder/llm-probe.js';
import { PROBE_FAULT_ENV } from '../../src/encoder/llm-probe-protocol.js';
import { binaryPackageName, LlmRuntimeError } from '../../src/encoder/llm-runtime.js';
import { ensureLlmModel, LLM_FAST_MODEL, TEST_MODELS_DIR } from './model-helper.js';

// The probe runs the real node-llama-cpp in a real child process; this machine has no GPU, so a dying GPU build
// is played by the test-only fault (the child aborts, SIGABRT, once llama.cpp has loaded) or by a file that is no model.
const MEAN = { 'llama-embed': { pooling_type: 1 } };
let files: LlmModelFiles;
let scratch: string;

before(async () => {
  await ensureLlmModel();
  files = await fetchLlmModel(LLM_FAST_MODEL, { modelsDir: TEST_MODELS_DIR, python: process.env.LEARN_PYTHON || 'python3' });
  scratch = await mkdtemp(join(tmpdir(), 'learn-probe-'));
});
after(() => rm(scratch, { recursive: true, force: true }));

async function withFault<T>(run: () => Promise<T>): Promise<T> {
  process.env[PROBE_FAULT_ENV] = 'abort';
  try {
    return await run();
  } finally {
    delete process.env[PROBE_FAULT_ENV];
  }
}

test('the probe loads the real model and encodes one text in a child process', async () => {
  const r = await probeLlm({ device: 'cpu', modelPath: files.ggufPath, metadataOverrides: MEAN });
  assert.deepEqual({ ok: r.ok, gpu: r.ok && r.gpu }, { ok: true, gpu: false }, JSON.stringify(r));
  // `auto` on a machine without a GPU build that loads stops at getLlama and says so.
  const auto = await probeLlm({ device: 'auto', modelPath: files.ggufPath, metadataOverrides: MEAN });
  assert.ok(auto.ok && auto.gpu === false, JSON.stringify(auto));
  assert.deepEqual(await usableLlmDevice('auto', { modelPath: files.ggufPath, metadataOverrides: MEAN }), { device: 'cpu' });
});

test('a probe child that dies natively, cannot load the model or hangs is reported with its reason', async () => {
  const died = await withFault(() => probeLlm({ device: 'cpu', modelPath: files.ggufPath, metadataOverrides: MEAN }));
  assert.ok(!died.ok && /killed by SIGABRT before encoding a text; its last output: /.test(died.reason), JSON.stringify(died));
  const garbage = join(scratch, 'garbage.gguf');
  await writeFile(garbage, 'not a model, just text');
  const bad = await probeLlm({ device: 'cpu', modelPath: garbage, metadataOverrides: MEAN });
  assert.ok(!bad.ok && /GGUF magic/.test(bad.reason), JSON.stringify(bad));
  // A GGUF header over garbage sends node-llama-cpp's reader into a loop: the probe's timeout ends it.
  const looping = join(scratch, 'looping.gguf');
  await writeFile(looping, 'GGUF but not really a model');
  const hung = await probeLlm({ device: 'cpu', modelPath: looping, metadataOverrides: MEAN }, 3_000);
  assert.ok(!hung.ok && /gave no answer within 3 s and was killed/.test(hung.reason), JSON.stringify(hung));
  const missing = await probeLlm({ device: 'cpu', modelPath: join(scratch, 'missing.gguf'), metadataOverrides: MEAN });
  assert.ok(!missing.ok && missing.reason.includes('missing.gguf'), JSON.stringify(missing));
});

test('auto falls back to CPU when the probe dies; cuda fails at start naming LEARN_ENCODER_DEVICE and the reason', async () => {
  const target = { modelPath: files.ggufPath, metadataOverrides: MEAN };
  const auto = await withFault(() => usableLlmDevice('auto', target));
  assert.equal(auto.device, 'cpu');
  // The fallback came from the probe child's death, not from finding no GPU build (which also means CPU).
  assert.match(auto.fallbackReason ?? '', /killed by SIGABRT/);
  assert.deepEqual(await usableLlmDevice('auto', target), { device: 'cpu' }, 'no fault, no GPU build: CPU without a fallback');
  await assert.rejects(
    withFault(() => usableLlmDevice('cuda', target)),
    (e: unknown) =>
      e instanceof LlmRuntimeError &&
      /^LEARN_ENCODER_DEVICE=cuda, but llama.cpp's CUDA build failed its probe/.test(e.message) &&
      // Here the CUDA binary does not even load (no driver); beside a driver, the fault kills the child.
      ((e.reason === 'binary-missing' && e.message.includes(binaryPackageName('cuda'))) || (e.reason === 'gpu-probe-failed' && e.message.includes('SIGABRT'))),
  );
  // The encoder itself survives and encodes on CPU.
  const enc = await withFault(() => LlmItemEncoder.load({ model: LLM_FAST_MODEL, modelsDir: TEST_MODELS_DIR, threads: 2, device: 'auto' }));
  try {
    assert.equal(enc.provider, 'cpu');
    assert.equal((await enc.encode('The item information is given as follows. Item title is "Heat (1995)".')).length, 576);
  } finally {
    await enc.close();
  }
});
