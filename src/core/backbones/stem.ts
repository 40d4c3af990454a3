import * as tf from '@tensorflow/tfjs';
import { FrozenConv } from './ops';
import type { InputConvention } from './types';

/**
 * The first convolution applied to RGB in [0, 1], with the input normalisation (x - mean) / std folded in:
 * 1/std scales the weights per input channel, saving a full-image division per scale. Without padding
 * the mean folds into the bias as well; with zero padding it cannot (a normalised zero is not an RGB
 * zero), so a padded stem subtracts the mean first.
 */
export class NormalisingStem {
  private readonly conv: FrozenConv;
  private readonly mean: tf.Tensor1D | null;

  /** `weight` in PyTorch layout [out, in, k, k]. */
  constructor(weight: { shape: number[]; data: Float32Array }, bias: Float32Array, stride: number, pad: number, input: InputConvention) {
    const [cout, cin, kh, kw] = weight.shape;
    if (cin !== 3) throw new Error(`a stem convolution takes 3 input channels, not ${cin}`);
    const taps = kh * kw;
    const w = new Float32Array(weight.data.length);
    const b = Float64Array.from(bias);
    for (let co = 0; co < cout; co++) {
      for (let ci = 0; ci < cin; ci++) {
        for (let t = 0; t < taps; t++) {
          const i = (co * cin + ci) * taps + t;
          w[i] = weight.data[i] / input.std[ci];
          if (pad === 0) b[co] -= w[i] * input.mean[ci];
        }
      }
    }
    this.conv = new FrozenConv({ shape: weight.shape, data: w }, Float32Array.from(b), stride, pad);
    this.mean = pad === 0 ? null : tf.tensor1d(input.mean);
  }

  apply(rgb: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.conv.apply(this.mean ? tf.sub(rgb, this.mean) : rgb));
  }

  dispose(): void {
    this.conv.dispose();
    this.mean?.dispose();
  }
}
