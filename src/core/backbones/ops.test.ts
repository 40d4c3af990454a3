import { beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, setupTf, tf } from '../../../test/support/tf';
import { FrozenConv, maxPool3s2 } from './ops';

beforeAll(setupTf);

/** The custom gradients must equal TF.js's own (reference) gradients. */
describe('backbone ops with fast input gradients', () => {
  const cases: [number, number, number, number, number][] = [
    // [size, k, stride, pad, cin]
    [23, 11, 4, 2, 3],
    [17, 5, 1, 2, 4],
    [15, 3, 1, 1, 3],
    [20, 3, 2, 0, 3],
    [9, 1, 1, 0, 5],
    [26, 11, 4, 2, 3],
    [21, 3, 2, 0, 2],
  ];
  for (const [size, k, stride, pad, cin] of cases) {
    it(`conv k${k} s${stride} p${pad} on ${size}px`, async () => {
      const x = tf.randomNormal([2, size, size, cin]) as tf.Tensor4D;
      const torchWeight = tf.randomNormal([6, cin, k, k]);
      const conv = new FrozenConv({ shape: [6, cin, k, k], data: (await torchWeight.data()) as Float32Array }, new Float32Array([0.1, -0.2, 0.3, 0, 0.5, -1]), stride, pad);
      const f = conv.filter;
      const b = conv.bias;
      const mine = tf.grad((t: tf.Tensor) => tf.sum(tf.square(conv.apply(t as tf.Tensor4D))))(x);
      const ref = tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.relu(tf.add(tf.conv2d(t as tf.Tensor4D, f, stride, pad), b)))))(x);
      expect(maxAbsDiff(await mine.data(), await ref.data())).toBeLessThan(1e-3);
      const y1 = conv.apply(x);
      const y2 = tf.relu(tf.add(tf.conv2d(x, f, stride, pad), b));
      expect(maxAbsDiff(await y1.data(), await y2.data())).toBeLessThan(1e-4);
    });
  }

  for (const size of [7, 8, 13]) {
    it(`max pool 3/2 on ${size}px routes gradients to each window's maximum`, async () => {
      const [n, c] = [2, 3];
      const x = tf.randomNormal([n, size, size, c]) as tf.Tensor4D;
      const o = Math.floor((size - 3) / 2) + 1;
      const weights = tf.randomNormal([n, o, o, c]);
      const mine = await tf.grad((t: tf.Tensor) => tf.sum(tf.mul(maxPool3s2(t as tf.Tensor4D), weights)))(x).data();
      const [xa, wa] = [await x.data(), await weights.data()];
      const want = new Float32Array(xa.length);
      const at = (b: number, y: number, xx: number, ch: number) => ((b * size + y) * size + xx) * c + ch;
      for (let b = 0; b < n; b++)
        for (let i = 0; i < o; i++)
          for (let j = 0; j < o; j++)
            for (let ch = 0; ch < c; ch++) {
              let best = -Infinity;
              let arg = -1;
              for (let a = 0; a < 3; a++)
                for (let d = 0; d < 3; d++) {
                  const k = at(b, 2 * i + a, 2 * j + d, ch);
                  if (xa[k] > best) [best, arg] = [xa[k], k];
                }
              want[arg] += wa[((b * o + i) * o + j) * c + ch];
            }
      expect(maxAbsDiff(mine, want)).toBeLessThan(1e-5);
    });
  }

  it('max pool with ties routes each window gradient exactly once', async () => {
    // After a ReLU whole windows are zero; each window must still pass on its gradient once, not 0 or 9 times.
    const x = tf.zeros([1, 9, 9, 2]) as tf.Tensor4D;
    const g = tf.grad((t: tf.Tensor) => tf.sum(maxPool3s2(t as tf.Tensor4D)))(x);
    expect((await tf.sum(g).data())[0]).toBe(4 * 4 * 2);
  });
});
