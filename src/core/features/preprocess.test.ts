import { beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, setupTf, tf } from '../testing/tf';
import { downsampleNearest, nearestIndices } from './preprocess';

beforeAll(setupTf);

/** PyTorch's F.interpolate(mode='nearest') on NHWC, written out. */
function nearestRef(x: Float32Array, [n, h, w, c]: number[], size: number): Float32Array {
  const [ri, ci] = [nearestIndices(h, size), nearestIndices(w, size)];
  const out = new Float32Array(n * size * size * c);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++)
        for (let ch = 0; ch < c; ch++) out[((b * size + i) * size + j) * c + ch] = x[((b * h + ri[i]) * w + ci[j]) * c + ch];
  return out;
}

describe('downsampleNearest', () => {
  // Integer factors take the reshape path, the others gather.
  for (const [side, size] of [
    [16, 8],
    [16, 4],
    [12, 3],
    [10, 4],
    [9, 5],
  ]) {
    it(`${side} -> ${size} reads PyTorch's pixels and sends gradients back to them`, async () => {
      const shape: [number, number, number, number] = [2, side, side, 3];
      const x = tf.randomNormal(shape) as tf.Tensor4D;
      const xs = (await x.data()) as Float32Array;
      const y = downsampleNearest(x, size);
      expect(y.shape).toEqual([2, size, size, 3]);
      expect(maxAbsDiff(await y.data(), nearestRef(xs, shape, size))).toBe(0);
      // The gradient of sum(w * y) puts w at each read pixel and zero elsewhere.
      const w = tf.randomNormal([2, size, size, 3]);
      const g = (await tf.grad((t: tf.Tensor) => tf.sum(tf.mul(downsampleNearest(t as tf.Tensor4D, size), w)))(x).data()) as Float32Array;
      const onehot = new Float32Array(xs.length).map((_, i) => i);
      const read = nearestRef(onehot, shape, size);
      const want = new Float32Array(xs.length);
      const wa = await w.data();
      read.forEach((src, k) => (want[src] += wa[k]));
      expect(maxAbsDiff(g, want)).toBeLessThan(1e-6);
    });
  }
});
