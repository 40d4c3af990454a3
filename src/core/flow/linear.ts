import * as tf from '@tensorflow/tfjs';

/**
 * x W + b with a gradient that avoids transposed matMul operands: TF.js's WASM backend runs a matMul with
 * transposeA/transposeB about 15x slower than a plain one, and the built-in gradient uses them. Only
 * batch-sized tensors are transposed here, never the weights.
 */
export const linear = tf.customGrad((x, w, b, save) => {
  const xs = x as tf.Tensor2D;
  const ws = w as tf.Tensor2D;
  (save as tf.GradSaveFunc)([xs, ws]);
  return {
    value: tf.add(tf.matMul(xs, ws), b as tf.Tensor1D),
    gradFunc: (dy, saved) => tf.tidy(() => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      const dx = tf.transpose(tf.matMul(sw, tf.transpose(g)));
      const dw = tf.matMul(tf.transpose(sx), g);
      return [dx, dw, tf.sum(g, 0)];
    }),
  };
}) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;
