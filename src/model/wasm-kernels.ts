import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * UnsortedSegmentSum for the wasm backend, which lacks it; `tf.gather`'s gradient needs it. The model's tower keeps
 * gathers out of its gradients; the loss's segment form (a grown window, over 512 targets) runs it over a
 * [targets, rows] tensor each step. It runs in JS over the tensors' heap data, single-threaded: the live trainer that
 * grows windows is meant for the native backend.
 */
export function registerWasmSegmentSum(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm') !== undefined) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as BackendWasm;
      const x = inputs['x'] as tf.TensorInfo;
      const ids = inputs['segmentIds'] as tf.TensorInfo;
      const numSegments = Number((attrs as { numSegments: number }).numSegments);
      // segmentIds' shape is a prefix of x's shape; each id names the output row its slice adds into.
      const inner = x.shape.slice(ids.shape.length).reduce((a, b) => a * b, 1);
      const xs = wasm.readSync(x.dataId) as Float32Array | Int32Array;
      const segs = wasm.readSync(ids.dataId) as Int32Array;
      const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
      for (let i = 0; i < segs.length; i++) {
        const s = segs[i] as number;
        if (s < 0 || s >= numSegments) continue;
        const src = i * inner;
        const dst = s * inner;
        for (let k = 0; k < inner; k++) out[dst + k] = (out[dst + k] as number) + (xs[src + k] as number);
      }
      return wasm.makeOutput([numSegments, ...x.shape.slice(ids.shape.length)], x.dtype, undefined, out);
    },
  });
}
