import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { NativePackage } from '../native/binding.js';
import { nativeReadiness } from '../native/status.js';
import { usableCpus } from '../ops/cpu-quota.js';
import { log } from '../ops/logger.js';
import { registerWasmSegmentSum } from './wasm-kernels.js';
import { registerThreadedWasm } from './wasm-threads.js';

export type BackendChoice = 'auto' | 'node-gpu' | 'node' | 'wasm' | 'cpu';
export type ConcreteBackend = Exclude<BackendChoice, 'auto'>;

export interface SelectedBackend {
  /** Which of our choices won. */
  choice: ConcreteBackend;
  /** The tfjs backend name now active ('tensorflow' for both node packages). */
  tfBackend: string;
  /** Threads the backend's kernels use (wasm: XNNPACK's pool; its other kernels run on the calling thread). */
  threads: number;
  /** Why each earlier candidate was passed over. */
  skipped: Array<{ choice: ConcreteBackend; reason: string }>;
}

const ORDER: ConcreteBackend[] = ['node-gpu', 'node', 'wasm', 'cpu'];
const NODE_PACKAGES: Record<'node-gpu' | 'node', NativePackage> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
};

let current: SelectedBackend | undefined;
/** Threads of the wasm backend once started: its module is instantiated once per process. */
let wasmThreads: number | undefined;

export interface BackendOptions {
  /**
   * wasm: XNNPACK threads; 1 (the default) is the package's single-threaded SIMD build. More threads speed up the
   * matmuls on idle cores, but on this project's shared 2-core machine (other processes busy) 2 threads made a
   * training step ~20% slower and item vectors 2x slower (pool threads wait on each other for a core), so they are
   * opt-in until a setting measures them per deployment.
   */
  threads?: number;
}

/**
 * Picks the tfjs backend at start and logs it. `auto` tries the native TensorFlow bindings (optional dependencies,
 * often absent), then wasm, then pure JS; a forced choice that cannot start is an error.
 * Calling it again with the same choice returns the earlier result; another choice switches backends.
 */
export async function selectBackend(choice: BackendChoice = 'auto', opts: BackendOptions = {}): Promise<SelectedBackend> {
  if (current && (choice === 'auto' || choice === current.choice) && tf.getBackend() === current.tfBackend) return current;
  const candidates = choice === 'auto' ? ORDER : [choice];
  const skipped: SelectedBackend['skipped'] = [];
  for (const c of candidates) {
    try {
      const { tfBackend, threads } = await activate(c, opts);
      current = { choice: c, tfBackend, threads, skipped };
      // One line; when auto passed over the native backend it says why, naming the missing piece.
      const nativeMissed = skipped.find((s) => s.choice === 'node');
      const msg = nativeMissed ? `tensorflow.js backend ${c} selected; native backend unavailable: ${nativeMissed.reason}` : `tensorflow.js backend ${c} selected`;
      log('model.backend').info({ backend: c, tfBackend, threads, skipped, requested: choice }, msg);
      return current;
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0] ?? err.message : String(err);
      if (choice !== 'auto') throw new Error(`tensorflow.js backend '${c}' could not start: ${reason}`);
      skipped.push({ choice: c, reason });
      log('model.backend').debug({ backend: c, reason }, 'backend unavailable, trying the next');
    }
  }
  throw new Error('no tensorflow.js backend could start');
}

/**
 * Bytes of the wasm backend's linear memory (0 on other backends). It only ever grows: its size is the peak the
 * kernels needed so far, which tf.memory() (live tensors) does not show.
 */
export function wasmHeapBytes(): number {
  if (tf.getBackend() !== 'wasm') return 0;
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.buffer.byteLength ?? 0;
}

/** Live tensors of the tfjs engine (every model in this process shares it): a count that only grows is a leak. */
export function liveTensors(): { numTensors: number; numBytes: number } {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
}

/** The backend chosen by the last selectBackend, if any. */
export function selectedBackend(): SelectedBackend | undefined {
  return current;
}

async function activate(c: ConcreteBackend, opts: BackendOptions): Promise<{ tfBackend: string; threads: number }> {
  switch (c) {
    case 'node-gpu':
    case 'node': {
      // A variable specifier: the packages are optional, so neither TypeScript nor the loader may require them.
      const spec: string = NODE_PACKAGES[c];
      // Checked from files first: a clear reason, and a package whose addon is missing is never half-imported.
      const readiness = nativeReadiness(NODE_PACKAGES[c]);
      if (!readiness.ready) throw new Error(readiness.reason);
      // libtensorflow prints INFO lines (oneDNN, CPU features) to stderr at load; keep its warnings and errors.
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
      // TensorFlow sizes its thread pools from the host's CPUs; under a container's CPU quota that oversubscribes it
      // and the kernel throttles every pool thread. Read once when the library loads (this process and its workers).
      const cpus = String(usableCpus());
      process.env.TF_NUM_INTRAOP_THREADS ??= cpus;
      process.env.TF_NUM_INTEROP_THREADS ??= cpus;
      await import(spec);
      await setAndCheck('tensorflow');
      return { tfBackend: 'tensorflow', threads: Number(process.env.TF_NUM_INTRAOP_THREADS) || Number(cpus) };
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // In Node the .wasm binaries are read from disk: point the loader at the package's dist folder (a plain path
      // with a trailing separator; emscripten reads it with fs).
      const main = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm');
      if (wasmThreads === undefined) {
        wasm.setWasmPaths(join(dirname(main), '/'));
        wasmThreads = Math.max(1, Math.floor(opts.threads ?? 1));
        if (wasmThreads > 1) {
          const singleThreaded = tf.findBackendFactory('wasm');
          try {
            registerThreadedWasm(wasmThreads);
            await setAndCheck('wasm');
          } catch (err) {
            // Fall back to the package's own (single-threaded SIMD) loader.
            log('model.backend').warn({ err: err instanceof Error ? err.message : String(err) }, 'threaded wasm could not start; using one thread');
            tf.removeBackend('wasm');
            if (singleThreaded) tf.registerBackend('wasm', singleThreaded);
            wasmThreads = 1;
          }
        }
      } else if (opts.threads !== undefined && opts.threads !== wasmThreads) {
        log('model.backend').warn({ asked: opts.threads, running: wasmThreads }, 'the wasm backend already runs; its thread count stays');
      }
      await setAndCheck('wasm');
      registerWasmSegmentSum();
      return { tfBackend: 'wasm', threads: wasm.getThreadsCount() };
    }
    case 'cpu':
      await setAndCheck('cpu');
      return { tfBackend: 'cpu', threads: 1 };
  }
}

async function setAndCheck(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new Error(`tf.setBackend('${name}') failed`);
  // A tiny op proves the kernels run (a native library can load yet fail at first use).
  tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)).dataSync());
}
