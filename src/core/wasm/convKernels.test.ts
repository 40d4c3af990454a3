import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../random';
import { IM2COL_SLACK } from './convKernels';
import { gemmModule, instantiateGemm } from './gemmKernels';
import { GemmRunner } from './threads';
import { nodeThreadSpawner } from '../node/threads';

// im2col and the 3x3 / stride 2 max pool on their own, against plain-JavaScript definitions: odd and
// non-square sizes, strides, paddings (as wide as the kernel too), floor and ceil mode, channels in and out of
// groups of 4, computed in pieces of rows out of order on one thread and split across helper threads.
// Both only copy or compare floats, so they must equal the definitions exactly.

function image(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (r() - 0.5) * 20);
}

/** Row (oy ow + ox) = the k x k x c patch at (oy s - pad, ox s - pad), taps (ky, kx, channel), zeros outside. */
function im2colReference(x: Float32Array, h: number, w: number, c: number, k: number, s: number, pad: number, oh: number, ow: number): Float32Array {
  const out = new Float32Array(oh * ow * k * k * c);
  let at = 0;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let ky = 0; ky < k; ky++) {
        for (let kx = 0; kx < k; kx++) {
          const [iy, ix] = [oy * s - pad + ky, ox * s - pad + kx];
          const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
          for (let ch = 0; ch < c; ch++) out[at++] = inside ? x[(iy * w + ix) * c + ch] : 0;
        }
      }
    }
  }
  return out;
}

/** PyTorch's MaxPool2d(3, 2): the 3 x 3 window at (2 oy, 2 ox), clipped to the image (ceil mode's last one hangs over). */
function maxPoolReference(x: Float32Array, h: number, w: number, c: number, oh: number, ow: number): Float32Array {
  const out = new Float32Array(oh * ow * c);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let ch = 0; ch < c; ch++) {
        let m = -Infinity;
        for (let y = 2 * oy; y < Math.min(2 * oy + 3, h); y++) for (let xx = 2 * ox; xx < Math.min(2 * ox + 3, w); xx++) m = Math.max(m, x[(y * w + xx) * c + ch]);
        out[(oy * ow + ox) * c + ch] = m;
      }
    }
  }
  return out;
}

/** Output side of a 3 x 3 / stride 2 pool without padding; in ceil mode PyTorch drops a last window that would start outside. */
function poolSide(n: number, ceil: boolean): number {
  const o = (ceil ? Math.ceil((n - 3) / 2) : Math.floor((n - 3) / 2)) + 1;
  return ceil && (o - 1) * 2 >= n ? o - 1 : o;
}

const convSide = (n: number, k: number, s: number, pad: number) => Math.floor((n + 2 * pad - k) / s) + 1;

// [h, w, c, k, s, pad]: AlexNet's first layer (11 / 4 / 2) on a small odd image, 1x1 and 3x3 ones, stride 3,
// a padding as wide as the kernel (rows of zeros only), channels of 3 (RGB) and 5 (runs that end mid-group).
const convCases = [
  [13, 11, 3, 11, 4, 2],
  [7, 9, 4, 3, 1, 1],
  [9, 6, 8, 1, 1, 0],
  [10, 7, 12, 3, 2, 0],
  [8, 11, 5, 5, 3, 2],
  [5, 5, 4, 3, 1, 3],
  [6, 5, 16, 2, 2, 1],
] as const;

describe('im2col against its definition', () => {
  const { module, memory } = gemmModule(8 << 20, false);
  const k = instantiateGemm(module, memory);
  const f = new Float32Array(memory.buffer);

  for (const [h, w, c, kk, s, pad] of convCases) {
    const [oh, ow] = [convSide(h, kk, s, pad), convSide(w, kk, s, pad)];
    const pieces = c % 4 === 0 ? 'in three pieces of rows, last first' : 'whole (runs end mid-group)';
    it(`${h}x${w}x${c}, kernel ${kk}, stride ${s}, padding ${pad} (${oh}x${ow} patches), ${pieces}: equal, nothing written past its slack`, () => {
      const x = image(h * w * c, h * 100 + w * 10 + c);
      const n = oh * ow * kk * kk * c;
      const [xAt, outAt] = [64, 64 + 4 * x.length + 64];
      f.fill(-7, 0, outAt / 4 + n + 64);
      f.set(x, xAt / 4);
      if (c % 4 === 0) {
        const [a, b] = [Math.floor(oh / 3), Math.floor((2 * oh) / 3)];
        for (const [r0, r1] of [[b, oh], [0, a], [a, b]]) k.im2col(xAt, h, w, c, kk, s, pad, ow, outAt, r0, r1);
      } else k.im2col(xAt, h, w, c, kk, s, pad, ow, outAt, 0, oh);
      expect(Array.from(f.subarray(outAt / 4, outAt / 4 + n))).toEqual(Array.from(im2colReference(x, h, w, c, kk, s, pad, oh, ow)));
      const after = outAt / 4 + n + IM2COL_SLACK / 4;
      expect(Array.from(f.subarray(after, after + 32))).toEqual(new Array(32).fill(-7));
      expect(Array.from(f.subarray(xAt / 4, xAt / 4 + x.length))).toEqual(Array.from(x));
    });
  }
});

describe('3x3 / stride 2 max pool against its definition', () => {
  const { module, memory } = gemmModule(8 << 20, false);
  const k = instantiateGemm(module, memory);
  const f = new Float32Array(memory.buffer);

  // Odd and even, non-square sides: ceil mode differs from floor mode where (side - 3) is odd.
  for (const [h, w, c] of [[3, 3, 4], [4, 7, 8], [13, 13, 4], [14, 9, 12], [27, 26, 16]] as const) {
    for (const ceil of [false, true]) {
      const [oh, ow] = [poolSide(h, ceil), poolSide(w, ceil)];
      it(`${h}x${w}x${c}, ${ceil ? 'ceil' : 'floor'} mode (${oh}x${ow}), in pieces of rows out of order: equal`, () => {
        const x = image(h * w * c, h * 7 + w + c);
        const n = oh * ow * c;
        const outAt = 4 * x.length + 64;
        f.fill(-7, 0, outAt / 4 + n + 16);
        f.set(x, 0);
        const cut = oh >> 1;
        k.maxPool(0, h, w, c, ow, outAt, cut, oh);
        k.maxPool(0, h, w, c, ow, outAt, 0, cut);
        expect(Array.from(f.subarray(outAt / 4, outAt / 4 + n))).toEqual(Array.from(maxPoolReference(x, h, w, c, oh, ow)));
        expect(Array.from(f.subarray(outAt / 4 + n, outAt / 4 + n + 16))).toEqual(new Array(16).fill(-7));
      });
    }
  }
});

describe('im2col and max pool split across helper threads', () => {
  let run: GemmRunner;
  beforeAll(async () => {
    run = await GemmRunner.create(8 << 20, 2, nodeThreadSpawner);
  });
  afterAll(() => run?.dispose());

  it('three threads give the definitions (channels in groups of 4 split, others whole)', () => {
    expect(run.threads).toBe(3);
    for (const [h, w, c, kk, s, pad] of convCases) {
      const [oh, ow] = [convSide(h, kk, s, pad), convSide(w, kk, s, pad)];
      const x = image(h * w * c, c * 3 + kk);
      const outAt = 64 + 4 * x.length + 64;
      run.f32.fill(0, 0, outAt / 4 + oh * ow * kk * kk * c + 16);
      run.f32.set(x, 16);
      run.im2col(64, h, w, c, kk, s, pad, oh, ow, outAt);
      expect(Array.from(run.f32.subarray(outAt / 4, outAt / 4 + oh * ow * kk * kk * c))).toEqual(Array.from(im2colReference(x, h, w, c, kk, s, pad, oh, ow)));
    }
    const [h, w, c] = [27, 25, 20];
    const [oh, ow] = [poolSide(h, true), poolSide(w, true)];
    const x = image(h * w * c, 99);
    const outAt = 4 * x.length + 64;
    run.f32.set(x, 0);
    run.maxPool(0, h, w, c, oh, ow, outAt);
    expect(Array.from(run.f32.subarray(outAt / 4, outAt / 4 + oh * ow * c))).toEqual(Array.from(maxPoolReference(x, h, w, c, oh, ow)));
  });
});
