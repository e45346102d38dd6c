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
 * the wasm backend's sigmoid is several times faster than its tanh.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const twoZ = tf.mul(tf.add(x, tf.mul(tf.mul(tf.square(x), x), 0.044715)), 2 * Math.sqrt(2 / Math.PI));
  return tf.mul(x, tf.sigmoid(twoZ));
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
