import { createHash } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';

/**
 * The wasm backend's threaded SIMD build in Node: XNNPACK's kernels (matmuls, most of a step) on a pthreadpool of
 * emscripten workers (worker_threads).
 *
 * tfjs turns threads off in Node (flag WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE, tfjs issue 3830): its
 * loader hands emscripten a Blob URL for the pthread worker script and a Blob for the main script, and Node's
 * worker_threads can load neither. The emscripten glue itself supports Node workers. So this registers a 'wasm'
 * backend factory that instantiates the same threaded build with plain file paths: the worker script (shipped as
 * a string in wasm-out/) written once to a content-addressed temp file, the main script from wasm-out/, the binary
 * from dist/. Everything else (kernels, BackendWasm) is the package's own.
 *
 * The build sizes its pool as min(requested, logical cores / 2) (it assumes two hyperthreads per core), read once
 * from os.cpus() while the module instantiates: os.cpus is widened to 2 x the wanted threads for that moment only.
 */
export function registerThreadedWasm(threads: number): void {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const wasmOut = join(dist, '..', 'wasm-out');
  const factory = require(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js')) as (config: object) => Promise<ThreadedModule>;
  const { wasmWorkerContents } = require(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  // tfjs escapes the newlines inside the script's string literals the same way before making its Blob.
  const workerScript = wasmWorkerContents.replace(/\n/g, '\\n');
  const workerPath = join(os.tmpdir(), `tfjs-wasm-threaded-worker-${createHash('sha256').update(workerScript).digest('hex').slice(0, 16)}.cjs`);
  if (!existsSync(workerPath)) {
    const partial = `${workerPath}.${process.pid}`;
    writeFileSync(partial, workerScript);
    renameSync(partial, workerPath);
  }
  wasmBackend.setThreadsCount(threads);
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', async () => {
    const realCpus = os.cpus;
    const cpu = realCpus()[0];
    os.cpus = () => (cpu ? Array.from({ length: 2 * threads }, () => cpu) : realCpus());
    let module: ThreadedModule;
    try {
      module = await factory({
        locateFile: (path: string) =>
          path.endsWith('.worker.js') ? workerPath : path.endsWith('.wasm') ? join(dist, 'tfjs-backend-wasm-threaded-simd.wasm') : join(wasmOut, path),
        mainScriptUrlOrBlob: join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js'),
      });
    } finally {
      os.cpus = realCpus;
    }
    // The bindings tfjs's own loader adds (tf-backend-wasm's init()).
    module.tfjs = {
      init: module.cwrap('init', null, []),
      initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: module.cwrap('get_threads_count', 'number', []),
      registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: module.cwrap('dispose_data', null, ['number']),
      dispose: module.cwrap('dispose', null, []),
    };
    const backend = new wasmBackend.BackendWasm(module as unknown as ConstructorParameters<typeof wasmBackend.BackendWasm>[0]);
    // The pool's threads wait for work forever, and emscripten keeps a running pthread's worker referenced, so Node
    // would never exit: let the process end whenever only they are left.
    for (const w of [...(module.PThread?.runningWorkers ?? []), ...(module.PThread?.unusedWorkers ?? [])]) w.unref?.();
    return backend;
  });
}

interface ThreadedModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => unknown;
  tfjs?: Record<string, (...args: number[]) => unknown>;
  PThread?: { runningWorkers?: Array<{ unref?: () => void }>; unusedWorkers?: Array<{ unref?: () => void }> };
}
