import * as tf from '@tensorflow/tfjs';

/** A variable that takes over its initial tensor: tf.variable() leaves the initial tensor allocated otherwise. */
export function ownedVariable<R extends tf.Rank>(initial: tf.Tensor<R>, trainable = true): tf.Variable<R> {
  const v = tf.variable(initial, trainable);
  initial.dispose();
  return v;
}
