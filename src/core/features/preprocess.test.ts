import { beforeAll, describe, expect, it } from 'vitest';
import type { RgbaImage } from '../image';
import { fidelityFixtures } from '../../../test/support/fixtures';
import { decodePng } from '../../../test/support/images';
import { maxAbsDiff, setupTf, tf } from '../../../test/support/tf';
import { downsampleNearest, rotate, toUnitRgb } from './preprocess';
import { downsampleNearestRgb, nearestIndices } from '../resample';

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
      // The host path's copy of one image reads the same pixels.
      const one = xs.subarray(side * side * 3);
      expect(Array.from(downsampleNearestRgb(one, side, size))).toEqual(Array.from((await y.data()).subarray(size * size * 3)));
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

// References from torchvision on PIL images (scripts/fixtures/make_fidelity_fixtures.py).
const fx = fidelityFixtures();

/** RGB bytes of an RGBA image as floats in [0, 255]. */
function rgbOf(img: RgbaImage): Float32Array {
  const out = new Float32Array(img.width * img.height * 3);
  for (let i = 0; i < img.width * img.height; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = img.data[i * 4 + c];
  return out;
}

describe.skipIf(!fx)('parity with torchvision on PIL images', () => {
  // PIL rounds to 8 bits after each of its two passes; we stay in float: at most 1 level apart, about
  // 0.3 on average (two roundings).
  for (const c of fx?.manifest.resize.cases ?? []) {
    it(`Resize((448, 448)) of a ${c.width}x${c.height} image: max |diff| <= 1/255, mean < 0.35/255`, async () => {
      const img = decodePng(fx!.bytes(c.source));
      const want = fx!.bin(c.expected);
      const got = (await toUnitRgb(img, 448).data()) as Float32Array;
      const diff = got.map((v, i) => Math.abs(v * 255 - want[i]));
      expect(maxAbsDiff(diff, new Float32Array(diff.length))).toBeLessThanOrEqual(1 + 1e-3);
      expect(diff.reduce((a, b) => a + b, 0) / diff.length).toBeLessThan(0.35);
      if (c.width > 448 && c.height > 448) {
        // Bilinear sampling without antialiasing (what tf.image.resizeBilinear does) is far off when shrinking.
        const plain = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(rgbOf(img), [img.height, img.width, 3]), [448, 448], false, true).dataSync());
        expect(maxAbsDiff(plain, want)).toBeGreaterThan(20);
      }
    });
  }

  // Nearest neighbour: equal values except where a source coordinate lands within float error of a pixel
  // border (PIL steps its coordinates incrementally); at most 0.25% of the values differ, none at quarter turns.
  for (const c of fx?.manifest.rotate.cases ?? []) {
    it(`rotate (NEAREST, fill 0) of a ${c.side}x${c.side} image: <= 0.25% of values differ, 0 at multiples of 90 degrees`, async () => {
      const img = decodePng(fx!.bytes(c.source));
      const want = fx!.bin(c.expected);
      const s = c.side;
      const x = tf.tensor4d(rgbOf(img), [1, s, s, 3]);
      for (const [k, deg] of fx!.manifest.rotate.angles_degrees.entries()) {
        const y = rotate(x, (deg * Math.PI) / 180);
        const got = await y.data();
        y.dispose();
        let bad = 0;
        for (let i = 0; i < got.length; i++) if (got[i] !== want[k * s * s * 3 + i]) bad++;
        if (deg % 90 === 0) expect(bad, `${deg} degrees`).toBe(0);
        else expect(bad / got.length, `${deg} degrees`).toBeLessThanOrEqual(0.0025);
      }
      x.dispose();
    });
  }
});
