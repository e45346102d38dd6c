// The llama.cpp probe's child process (forked by llm-probe.ts): load llama.cpp for a device, load the model and
// encode one text, then report over IPC. A GPU build that aborts natively (a CUDA kernel the driver refuses)
// kills this process, not the encoder that asked.
import { llmProbeRequestSchema, PROBE_FAULT_ENV, PROBE_TEXT, type LlmProbeMessage } from './llm-probe-protocol.js';
import { LlmRuntimeError, loadLlama } from './llm-runtime.js';

// A parent that dies (SIGKILL while a GPU build loads) closes the IPC channel: nothing is left to report to.
process.on('disconnect', () => process.exit(1));

function report(msg: LlmProbeMessage): void {
  // Exit once the message is out; disposing a GPU build that misbehaves could only add noise.
  process.send?.(msg, () => process.exit(msg.ok ? 0 : 1));
}

async function probe(): Promise<LlmProbeMessage> {
  const req = llmProbeRequestSchema.parse(JSON.parse(process.argv[2] ?? ''));
  const llama = await loadLlama(req.device);
  // Test-only: die as a broken GPU build does at its first encode (tests have no GPU to break).
  if (process.env[PROBE_FAULT_ENV] === 'abort') process.abort();
  // `auto` found no GPU build that loads: nothing GPU to try, the encoder uses the CPU build.
  if (llama.gpu === false && req.device !== 'cpu') return { ok: true, gpu: false };
  const model = await llama.loadModel({
    modelPath: req.modelPath,
    ...(llama.gpu === false ? {} : { gpuLayers: 'auto' as const }),
    metadataOverrides: req.metadataOverrides,
  });
  const ctx = await model.createEmbeddingContext({ contextSize: 64, batchSize: 64, threads: 1 });
  const { vector } = await ctx.getEmbeddingFor(model.tokenize(PROBE_TEXT));
  if (vector.length !== model.embeddingVectorSize || !vector.every(Number.isFinite)) {
    return { ok: false, error: { message: `the probe's vector has ${vector.length} values (expected ${model.embeddingVectorSize}), or a value that is not finite` } };
  }
  return { ok: true, gpu: llama.gpu, dim: vector.length };
}

probe().then(report, (err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  report({ ok: false, error: { message: e.message, ...(e instanceof LlmRuntimeError ? { reason: e.reason } : {}) } });
});
