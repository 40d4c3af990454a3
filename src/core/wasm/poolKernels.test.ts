import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../random';
import { gemmModule, instantiateGemm } from './gemmKernels';
import { GemmRunner } from './threads';
import { nodeThreadSpawner } from '../node/threads';

// GoogLeNet's LRN and stride-1 max pool kernels against float64 references written out from their
// definitions (Caffe's LRN across channels; a 3x3 stride-1 max pool whose padding never wins), on one
// thread in pieces as threads split them, and through the runner with a helper thread.

function randomImage(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  // Post-ReLU activations: non-negative, a few large; and some negative ones, which the LRN squares.
  return Float32Array.from({ length: n }, () => (r() < 0.1 ? -r() * 5 : Math.max(0, (r() - 0.3) * 40)));
}

const LRN = { size: 5, alpha: 1e-4, beta: 0.75, k: 1 };

function lrnReference(x: Float32Array, pixels: number, ch: number, alpha = LRN.alpha, k = LRN.k): Float64Array {
  const want = new Float64Array(pixels * ch);
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < ch; c++) {
      let sum = 0;
      for (let j = c - 2; j <= c + 2; j++) if (j >= 0 && j < ch) sum += x[i * ch + j] ** 2;
      want[i * ch + c] = x[i * ch + c] / (k + (alpha / 5) * sum) ** 0.75;
    }
  }
  return want;
}

function poolReference(x: Float32Array, h: number, w: number, ch: number): Float32Array {
  const want = new Float32Array(h * w * ch);
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < w; xx++) {
      for (let c = 0; c < ch; c++) {
        let m = -Infinity;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const [yy, xxx] = [y + dy, xx + dx];
            if (yy >= 0 && yy < h && xxx >= 0 && xxx < w) m = Math.max(m, x[(yy * w + xxx) * ch + c]);
          }
        }
        want[(y * w + xx) * ch + c] = m;
      }
    }
  }
  return want;
}

/**
 * Worst error in float32 units of the result: the kernel rounds the sum of squares, the square roots, a
 * product and a quotient in float32 (about 4 roundings of half a unit each).
 */
function worstUlps(got: Float32Array, want: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (Math.abs(want[i]) * 2 ** -23 + 1e-30));
  return worst;
}

describe('LRN kernel (size 5, beta 0.75) against the float64 definition', () => {
  const { module, memory } = gemmModule(4 << 20, false);
  const k = instantiateGemm(module, memory);
  const f = new Float32Array(memory.buffer);
  // Channel counts of 4 (both ends in one group), 8 (no middle group), 12 and GoogLeNet's 64 and 192.
  for (const [pixels, ch] of [[3, 4], [5, 8], [7, 12], [9, 64], [13, 192]] as const) {
    it(`${pixels} pixels x ${ch} channels within 4 float32 units, in two pieces of pixels`, () => {
      const x = randomImage(pixels * ch, ch);
      const [xAt, outAt] = [64, 64 + 4 * pixels * ch + 64];
      // Guards around both: the kernel must read only its masked neighbours and write only its output.
      f.fill(7, 0, outAt / 4 + pixels * ch + 16);
      f.set(x, xAt / 4);
      const scale = Math.fround(LRN.alpha / LRN.size);
      const cut = pixels >> 1;
      k.lrn(xAt, outAt, ch, 0, cut, LRN.k, scale);
      k.lrn(xAt, outAt, ch, cut, pixels, LRN.k, scale);
      const got = f.slice(outAt / 4, outAt / 4 + pixels * ch);
      expect(worstUlps(got, lrnReference(x, pixels, ch))).toBeLessThanOrEqual(4);
      expect(Array.from(f.subarray(xAt / 4, xAt / 4 + pixels * ch))).toEqual(Array.from(x));
      expect(Array.from(f.subarray(outAt / 4 + pixels * ch, outAt / 4 + pixels * ch + 16))).toEqual(new Array(16).fill(7));
      expect(Array.from(f.subarray(outAt / 4 - 16, outAt / 4))).toEqual(new Array(16).fill(7));
    });
  }

  it('the neighbours before the first channel and after the last do not count (large values there)', () => {
    const ch = 8;
    const x = randomImage(ch, 3);
    f.fill(1e4, 0, 64);
    f.set(x, 16);
    f.fill(1e4, 16 + ch, 64);
    k.lrn(64, 512, ch, 0, 1, 1, Math.fround(2e-5));
    expect(worstUlps(f.slice(128, 128 + ch), lrnReference(x, 1, ch))).toBeLessThanOrEqual(4);
  });
});

describe('3x3 stride-1 max pool kernel against the windowed maximum', () => {
  const { module, memory } = gemmModule(4 << 20, false);
  const k = instantiateGemm(module, memory);
  const f = new Float32Array(memory.buffer);
  // Sides of 1 and 2 (every window clipped), odd and non-square ones, GoogLeNet's 28 x 28 x 192 pool input.
  for (const [h, w, ch] of [[1, 1, 4], [2, 2, 8], [1, 5, 4], [5, 1, 12], [7, 5, 20], [14, 14, 8], [28, 28, 192]] as const) {
    it(`${h}x${w}x${ch}, computed in two pieces of rows, equals it exactly`, () => {
      const n = h * w * ch;
      const x = randomImage(n, h * 31 + w * 7 + ch);
      const [xAt, outAt] = [0, 4 * n + 64];
      f.fill(-3, 0, outAt / 4 + n + 16);
      f.set(x, 0);
      const cut = h >> 1;
      k.maxPoolSame(xAt, h, w, ch, outAt, 0, cut);
      k.maxPoolSame(xAt, h, w, ch, outAt, cut, h);
      expect(Array.from(f.subarray(outAt / 4, outAt / 4 + n))).toEqual(Array.from(poolReference(x, h, w, ch)));
      expect(Array.from(f.subarray(outAt / 4 + n, outAt / 4 + n + 16))).toEqual(new Array(16).fill(-3));
    });
  }
});

describe('the runner splits both across a helper thread', () => {
  let run: GemmRunner;
  afterAll(() => run?.dispose());

  it('LRN and pool on two threads match the references', async () => {
    run = await GemmRunner.create(8 << 20, 1, nodeThreadSpawner);
    expect(run.threads).toBe(2);
    const [h, w, ch] = [13, 11, 36];
    const n = h * w * ch;
    const x = randomImage(n, 5);
    const [xAt, outAt] = [64, 64 + 4 * n + 64];
    run.f32.set(x, xAt / 4);
    run.lrn(xAt, outAt, h * w, ch, LRN);
    expect(worstUlps(run.f32.slice(outAt / 4, outAt / 4 + n), lrnReference(x, h * w, ch))).toBeLessThanOrEqual(4);
    run.maxPoolSame(xAt, h, w, ch, outAt);
    expect(Array.from(run.f32.subarray(outAt / 4, outAt / 4 + n))).toEqual(Array.from(poolReference(x, h, w, ch)));
  });

  it('refuses shapes and parameters the kernels do not compute', () => {
    expect(() => run.lrn(64, 4096, 4, 6, LRN)).toThrow(/whole groups of 4 channels/);
    expect(() => run.lrn(64, 4096, 4, 8, { ...LRN, beta: 0.5 })).toThrow(/size 5 and beta 0.75/);
    expect(() => run.lrn(0, 4096, 4, 8, LRN)).toThrow(/byte 8 or later/);
    expect(() => run.maxPoolSame(0, 4, 4, 6, 4096)).toThrow(/whole groups of 4 channels/);
  });
});
