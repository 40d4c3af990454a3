import { beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, setupTf, tf } from '../../../test/support/tf';
import { FrozenConv } from './ops';
import { NormalisingStem } from './stem';
import { IMAGENET } from './types';

beforeAll(setupTf);

describe('NormalisingStem', () => {
  // Padded (AlexNet: k11 s4 p2) and unpadded (SqueezeNet: k3 s2 p0) stems.
  for (const [k, stride, pad] of [
    [11, 4, 2],
    [3, 2, 0],
  ]) {
    it(`equals a conv of the normalised image, value and gradient (k${k} s${stride} p${pad})`, async () => {
      const rgb = tf.randomUniform([2, 27, 27, 3]) as tf.Tensor4D;
      const weight = { shape: [5, 3, k, k], data: (await tf.randomNormal([5, 3, k, k]).data()) as Float32Array };
      const bias = new Float32Array([0.1, -0.2, 0.3, 0, 0.5]);
      const stem = new NormalisingStem(weight, bias, stride, pad, IMAGENET);
      const plain = new FrozenConv(weight, bias, stride, pad);
      const normalised = (x: tf.Tensor) => tf.div(tf.sub(x, IMAGENET.mean), IMAGENET.std) as tf.Tensor4D;
      const loss = (f: (x: tf.Tensor4D) => tf.Tensor) => (x: tf.Tensor) => tf.sum(tf.square(f(x as tf.Tensor4D)));
      const want = plain.apply(normalised(rgb));
      expect(maxAbsDiff(await stem.apply(rgb).data(), await want.data())).toBeLessThan(1e-4 * Math.max(1, (await want.max().data())[0]));
      const g1 = await tf.grad(loss((x) => stem.apply(x)))(rgb).data();
      const g2 = await tf.grad(loss((x) => plain.apply(normalised(x))))(rgb).data();
      const scale = Math.max(...g2.map(Math.abs));
      expect(maxAbsDiff(g1, g2) / scale).toBeLessThan(1e-4);
      stem.dispose();
      plain.dispose();
    });
  }
});
