import * as tf from '@tensorflow/tfjs';

// Small differentiable building blocks, written from ops that have gradients on every backend.

const LN_EPSILON = 1e-5;
const NORM_EPSILON = 1e-12;

export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LN_EPSILON))), gamma), beta) as tf.Tensor2D;
}

/**
 * GELU, tanh approximation (as in BERT and GPT-2), written as x * sigmoid(2z) since 0.5 (1 + tanh z) = sigmoid(2z):
 * the wasm backend's sigmoid is several times faster than its tanh. Its gradient is written out,
 *   d/dx = s + x s (1 - s) 2z',  s = sigmoid(2z), 2z' = c (1 + 3 a x^2),
 * in fewer full-size elementwise ops than autodiff of the forward chain makes (they are single-threaded on wasm).
 */
export const gelu = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const s = tf.sigmoid(geluTwoZ(x));
  save([x, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, ss] = saved as [tf.Tensor, tf.Tensor];
      const dTwoZ = tf.add(tf.mul(tf.square(sx), 3 * GELU_A * GELU_C), GELU_C);
      const ds = tf.mul(tf.mul(sx, tf.sub(ss, tf.square(ss))), dTwoZ);
      return [tf.mul(dy, tf.add(ss, ds))];
    },
  };
}) as (x: tf.Tensor) => tf.Tensor;

const GELU_A = 0.044715;
const GELU_C = 2 * Math.sqrt(2 / Math.PI);

/** 2z = c (x + a x^3) of the tanh approximation. */
function geluTwoZ(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.add(x, tf.mul(tf.mul(tf.square(x), x), GELU_A)), GELU_C);
}

/** The same GELU by autodiff of its forward chain: the reference the hand-written gradient is tested against. */
export function geluAutodiff(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(geluTwoZ(x)));
}

export function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.sum(tf.square(x), -1, true), NORM_EPSILON))) as tf.Tensor2D;
}

/**
 * x [N, K] @ w [K, M], with a gradient that transposes explicitly. tf.matMul's own gradient multiplies with
 * transposeA/transposeB, which the wasm backend runs about 10x slower than a transpose plus a plain matmul
 * (only the plain form reaches XNNPACK). The weight gradient x^T dy [K, M] is computed as (dy^T x)^T when M > K:
 * XNNPACK runs a product with a long inner dimension several times faster when its output is narrow
 * ([384, 3200] @ [3200, 128] in a fifth of the time of [128, 3200] @ [3200, 384]).
 */
export const matMul2d = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      const [K, M] = sw.shape;
      const dw = M > K ? tf.transpose(tf.matMul(tf.transpose(dy), sx)) : tf.matMul(tf.transpose(sx), dy);
      return [tf.matMul(dy, tf.transpose(sw)), dw];
    },
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/**
 * A float32 one-hot [N, depth]. Built as int32 and cast: the wasm OneHot kernel ignores a float32 dtype and writes
 * integer bit patterns (1 reads as 1.4e-45).
 */
export function oneHotFloat(indices: tf.Tensor1D, depth: number): tf.Tensor2D {
  // tf.oneHot refuses depth 1 (a batch of one-item histories): every valid index is then 0.
  if (depth === 1) return tf.ones([indices.shape[0], 1]);
  return tf.cast(tf.oneHot(indices, depth), 'float32') as tf.Tensor2D;
}
