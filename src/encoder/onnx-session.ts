import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { cgroupCpuQuota } from '../ops/cpu-quota.js';
import { log } from '../ops/logger.js';

export const ENCODER_DEVICES = ['auto', 'cpu', 'cuda'] as const;
export type EncoderDevice = (typeof ENCODER_DEVICES)[number];
export type ExecutionProvider = 'cuda' | 'cpu';

export interface OnnxSessionOptions {
  /** Threads inside one operator; undefined lets ONNX Runtime pick (all physical cores), or a cgroup CPU quota below them. */
  intraOpNumThreads?: number;
  /** auto: CUDA when its provider library is installed, else CPU. */
  device?: EncoderDevice;
}

export interface OnnxSession {
  session: ort.InferenceSession;
  provider: ExecutionProvider;
}

/**
 * Whether onnxruntime-node's CUDA provider library sits beside its native binding. The npm package ships
 * CPU only; the CUDA libraries are an install-time extra. Asking for CUDA without them makes the native
 * layer print errors before it throws, so we look first and only try when there is something to load.
 */
export function cudaProviderInstalled(): boolean {
  try {
    const entry = createRequire(import.meta.url).resolve('onnxruntime-node');
    const binDir = join(dirname(entry), '..', 'bin', 'napi-v6', process.platform, process.arch);
    return existsSync(join(binDir, 'libonnxruntime_providers_cuda.so'));
  } catch {
    return false;
  }
}

export async function createOnnxSession(modelPath: string, opts: OnnxSessionOptions = {}): Promise<OnnxSession> {
  const l = log('encoder.onnx');
  const device = opts.device ?? 'auto';
  const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
  // ONNX Runtime counts the host's cores, not a container's CPU quota.
  const quota = cgroupCpuQuota();
  const threads = opts.intraOpNumThreads ?? (quota !== undefined && quota < availableParallelism() ? quota : undefined);
  if (threads !== undefined) base.intraOpNumThreads = threads;

  if (device !== 'cpu') {
    if (cudaProviderInstalled()) {
      try {
        const session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cuda', 'cpu'] });
        l.info({ provider: 'cuda', model: modelPath }, 'onnx session on CUDA');
        return { session, provider: 'cuda' };
      } catch (err) {
        if (device === 'cuda') throw new Error(`CUDA execution provider failed: ${(err as Error).message}`);
        l.warn({ err: (err as Error).message }, 'CUDA execution provider failed; falling back to CPU');
      }
    } else if (device === 'cuda') {
      throw new Error('LEARN_ENCODER_DEVICE=cuda but onnxruntime-node has no CUDA provider library installed');
    } else {
      l.debug('no CUDA provider library installed; using CPU');
    }
  }
  const session = await ort.InferenceSession.create(modelPath, { ...base, executionProviders: ['cpu'] });
  l.info({ provider: 'cpu', threads: threads ?? 'default', model: modelPath }, 'onnx session on CPU');
  return { session, provider: 'cpu' };
}
