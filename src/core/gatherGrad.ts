import * as tf from '@tensorflow/tfjs';

/**
 * gather(x, idx, axis) for indices that are distinct (permutations, nearest-neighbour downsampling) with a
 * gradient the WASM backend can run: the built-in one needs UnsortedSegmentSum, which it lacks. The gradient
 * scatters back with a one-hot matrix product, or a gather by the inverse for a full permutation.
 */
export function gatherDistinct<T extends tf.Tensor>(x: T, idx: Int32Array, axis: number): T {
  const n = x.shape[axis];
  const indices = tf.tensor1d(idx, 'int32');
  const isPermutation = idx.length === n;
  const op = tf.customGrad((input, save) => {
    (save as tf.GradSaveFunc)([]);
    return {
      value: tf.gather(input as tf.Tensor, indices, axis),
      gradFunc: (dy) => tf.tidy(() => {
        const g = dy as tf.Tensor;
        if (isPermutation) {
          const inv = new Int32Array(n);
          idx.forEach((p, i) => (inv[p] = i));
          return tf.gather(g, tf.tensor1d(inv, 'int32'), axis);
        }
        // Rows of the input that were never read get zero; the others get their output row's gradient.
        const scatter = tf.oneHot(tf.tensor1d(idx, 'int32'), n).transpose().toFloat() as tf.Tensor2D; // [n, m]
        const perm = [axis, ...g.shape.map((_, i) => i).filter((i) => i !== axis)];
        const moved = tf.transpose(g, perm);
        const flat = tf.reshape(moved, [idx.length, -1]) as tf.Tensor2D;
        const back = tf.reshape(tf.matMul(scatter, flat), [n, ...moved.shape.slice(1)]);
        const inversePerm = perm.map((_, i) => perm.indexOf(i));
        return tf.transpose(back, inversePerm);
      }),
    };
  });
  const out = op(x) as T;
  indices.dispose();
  return out;
}
