import * as tf from '@tensorflow/tfjs';
import { jitter, rotate, type ColourJitter } from './preprocess';

/** One transformed copy of an image: a rotation and optional colour jitter. */
export interface CopySpec {
  angle: number;
  jitter?: ColourJitter;
}

/** Transforms of an already resized batch [1, S, S, 3] in [0, 1], for the given copies. */
export function transformCopies(base: tf.Tensor4D, specs: readonly CopySpec[]): tf.Tensor4D {
  return tf.tidy(() =>
    tf.concat(
      specs.map((s) => {
        const r = rotate(base, s.angle);
        return s.jitter ? jitter(r, s.jitter) : r;
      }),
      0,
    ),
  );
}
