import { beforeAll, describe, expect, it } from 'vitest';
import { setupTf, tf } from '../../test/support/tf';
import { downsampleArea, resizeBilinear } from './resample';

beforeAll(setupTf);

describe('resizeBilinear', () => {
  it('matches tf.image.resizeBilinear with half-pixel centres', () => {
    const w = 5;
    const h = 3;
    const map = Float32Array.from({ length: w * h }, (_, i) => Math.sin(i) * 3 + i);
    for (const [W, H] of [
      [13, 7],
      [5, 3],
      [40, 4],
      [2, 2],
    ]) {
      const want = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(map, [h, w, 1]), [H, W], false, true).dataSync());
      const got = resizeBilinear(map, w, h, W, H);
      expect(got.length).toBe(W * H);
      for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(want[i], 4);
    }
  });
});

describe('downsampleArea', () => {
  /** Each output the float64 mean of its block, written out from the definition. */
  function blockMeans(data: ArrayLike<number>, w: number, h: number, ch: number, W: number, H: number): number[] {
    const out: number[] = [];
    for (let ty = 0; ty < H; ty++) {
      for (let tx = 0; tx < W; tx++) {
        for (let k = 0; k < ch; k++) {
          let s = 0;
          let n = 0;
          for (let y = Math.floor((ty * h) / H); y < Math.floor(((ty + 1) * h) / H); y++) {
            for (let x = Math.floor((tx * w) / W); x < Math.floor(((tx + 1) * w) / W); x++, n++) s += data[(y * w + x) * ch + k];
          }
          out.push(s / n);
        }
      }
    }
    return out;
  }

  it('averages the blocks of a map in float, and of 8-bit pixels rounded half up', () => {
    const [w, h, W, H] = [23, 17, 7, 5];
    const map = Float32Array.from({ length: w * h }, (_, i) => Math.cos(i * 0.37) * 5);
    expect(Array.from(downsampleArea(map, w, h, 1, W, H, new Float32Array(W * H)))).toEqual(blockMeans(map, w, h, 1, W, H).map(Math.fround));
    // Two pixels averaging to x.5 each: 1 and 2 -> 2 (Math.round), where a Uint8ClampedArray alone rounds to even.
    const px = Uint8ClampedArray.from({ length: w * h * 4 }, (_, i) => (i * 37) % 256);
    const want = blockMeans(px, w, h, 4, W, H).map(Math.round);
    expect(Array.from(downsampleArea(px, w, h, 4, W, H, new Uint8ClampedArray(W * H * 4), true))).toEqual(want);
    const halves = downsampleArea(Uint8ClampedArray.from([1, 2]), 2, 1, 1, 1, 1, new Uint8ClampedArray(1), true);
    expect(halves[0]).toBe(2);
  });

  it('refuses to enlarge', () => {
    expect(() => downsampleArea(new Float32Array(4), 2, 2, 1, 3, 2, new Float32Array(6))).toThrow(/only shrinks/);
  });
});
