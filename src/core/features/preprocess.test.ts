import { beforeAll, describe, expect, it } from 'vitest';
import { maxAbsDiff, setupTf, tf } from '../testing/tf';
import { downsampleNearest, nearestIndices } from './preprocess';

beforeAll(setupTf);

/**
 * The rows (and columns) PyTorch's F.interpolate(mode='nearest') reads, worked out by hand from its rule
 * src = min(floor(dst * in / out), in - 1): e.g. 10 -> 4 reads floor(0, 2.5, 5, 7.5) = 0, 2, 5, 7.
 */
const PYTORCH_ROWS: Record<string, number[]> = {
  '16->8': [0, 2, 4, 6, 8, 10, 12, 14],
  '16->4': [0, 4, 8, 12],
  '12->3': [0, 4, 8],
  '10->4': [0, 2, 5, 7],
  '9->5': [0, 1, 3, 5, 7],
};

/** F.interpolate(mode='nearest') on NHWC, written out over the hand-made index tables. */
function nearestRef(x: Float32Array, [n, h, w, c]: number[], size: number): Float32Array {
  const [ri, ci] = [PYTORCH_ROWS[`${h}->${size}`], PYTORCH_ROWS[`${w}->${size}`]];
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
      expect(Array.from(nearestIndices(side, size))).toEqual(PYTORCH_ROWS[`${side}->${size}`]);
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
