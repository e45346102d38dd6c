import { fork } from 'node:child_process';
import { tmpdir } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { log } from '../ops/logger.js';
import { llmProbeMessageSchema, type LlmProbeMessage, type LlmProbeRequest } from './llm-probe-protocol.js';
import { LlmRuntimeError, type LlmRuntimeReason } from './llm-runtime.js';
import type { EncoderDevice } from './onnx-session.js';

const PROBE_CHILD = fileURLToPath(new URL('./llm-probe-child.js', import.meta.url));
// A first CUDA run may JIT-compile kernels for a GPU its binary has no code for; loading and one text take ~2 s otherwise.
const PROBE_TIMEOUT_MS = 180_000;
const TAIL_CHARS = 4_000;
const TAIL_LINES = 6;

export type LlmProbeResult =
  | { ok: true; gpu: string | false; ms: number }
  | { ok: false; reason: string; ms: number; runtimeReason?: LlmRuntimeReason };

/**
 * Loads llama.cpp for `device`, loads the model and encodes one text, in a short-lived child process. A GPU build
 * can pass getLlama and loadModel and then abort the whole process natively at the first encode (a CUDA binary
 * built by a newer toolkit than the driver accepts); only another process can survive that and say so.
 */
export function probeLlm(req: LlmProbeRequest, timeoutMs: number = PROBE_TIMEOUT_MS): Promise<LlmProbeResult> {
  const started = performance.now();
  const ms = (): number => Math.round(performance.now() - started);
  return new Promise((settle) => {
    // No execArgv: the parent's flags (a test runner's, an inspector's) are not the probe's business. The child
    // runs in the temp folder, so a core file from a native abort (where core dumps are on) does not land here.
    const child = fork(PROBE_CHILD, [JSON.stringify({ ...req, modelPath: resolvePath(req.modelPath) })], {
      cwd: tmpdir(),
      execArgv: [],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let tail = '';
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString('utf8')).slice(-TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let answer: LlmProbeMessage | undefined;
    let garbled: string | undefined;
    child.on('message', (m: unknown) => {
      const parsed = llmProbeMessageSchema.safeParse(m);
      if (parsed.success) answer = parsed.data;
      else garbled = parsed.error.message;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (answer?.ok) return settle({ ok: true, gpu: answer.gpu, ms: ms() });
      if (answer) {
        const { message, reason } = answer.error;
        return settle({ ok: false, reason: message, ms: ms(), ...(reason ? { runtimeReason: reason } : {}) });
      }
      const how = spawnError
        ? `could not start (${spawnError.message})`
        : timedOut
          ? `gave no answer within ${timeoutMs / 1000} s and was killed`
          : garbled
            ? `answered something unreadable (${garbled})`
            : signal
              ? `was killed by ${signal}`
              : `exited with code ${code}`;
      settle({ ok: false, reason: `the probe process ${how} before encoding a text; its last output: ${probeOutput(tail)}`, ms: ms() });
    });
  });
}

function probeOutput(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length === 0) return '(none)';
  // llama.cpp prints the cause ("CUDA error: ...") before a native abort's stack trace, which fills the last lines.
  const errors = lines.filter((l) => /error/i.test(l)).slice(0, 2);
  return [...errors, ...lines.slice(-TAIL_LINES).filter((l) => !errors.includes(l))].join(' | ');
}

/**
 * The device the LLM encoder may load llama.cpp for. `cpu` is taken as is. Otherwise a probe (above) loads the
 * model and encodes one text out of process first: `auto` falls back to CPU with a warning when it fails, `cuda`
 * fails at start naming LEARN_ENCODER_DEVICE and the reason. Nothing is cached: the probe costs about a second
 * when no GPU build loads (it stops there), a model load and one text when one does.
 */
export async function usableLlmDevice(device: EncoderDevice, target: Omit<LlmProbeRequest, 'device'>): Promise<{ device: EncoderDevice; fallbackReason?: string }> {
  if (device === 'cpu') return { device: 'cpu' };
  const r = await probeLlm({ ...target, device });
  const l = log('encoder');
  if (r.ok) {
    if (r.gpu === false) return { device: 'cpu' };
    l.info({ device, gpu: r.gpu, probeMs: r.ms }, 'llama.cpp GPU build passed its probe (model loaded, one text encoded)');
    return { device };
  }
  // No node-llama-cpp, or no build at all (auto falls back to the CPU build by itself): nothing GPU-specific failed.
  if (device === 'auto' && (r.runtimeReason === 'runtime-missing' || r.runtimeReason === 'binary-missing')) throw new LlmRuntimeError(r.runtimeReason, r.reason);
  if (device === 'cuda') {
    throw new LlmRuntimeError(
      r.runtimeReason ?? 'gpu-probe-failed',
      `LEARN_ENCODER_DEVICE=cuda, but llama.cpp's CUDA build failed its probe (load ${target.modelPath} and encode one text, in a child process): ` +
        `${r.reason}. Set LEARN_ENCODER_DEVICE=cpu (or auto, which falls back to CPU)`,
    );
  }
  l.warn({ device, reason: r.reason, probeMs: r.ms }, 'llama.cpp GPU build failed its probe (load the model, encode one text, in a child process); LEARN_ENCODER_DEVICE=auto falls back to CPU');
  return { device: 'cpu', fallbackReason: r.reason };
}
