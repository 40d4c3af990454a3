import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random';
import { lrnAcross, maxPoolSame } from './hostOps';

// The backbone's plain-loop ops against float64 references written out from their definitions (Caffe's LRN
// across channels; a 3x3 stride-1 max pool whose padding never wins). Bounds: float32 rounding of the result.

function randomImage(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  // Post-ReLU activations: non-negative, a few large.
  return Float32Array.from({ length: n }, () => Math.max(0, (r() - 0.3) * 40));
}

describe('LRN across channels', () => {
  for (const [pixels, ch, beta] of [[9, 64, 0.75], [5, 7, 0.6], [3, 3, 0.75]] as const) {
    it(`matches the float64 definition within float32 rounding (${pixels} pixels x ${ch} channels, beta ${beta})`, () => {
      const p = { size: 5, alpha: 1e-4, beta, k: 1 };
      const x = randomImage(pixels * ch, ch);
      const mem = new Float32Array(2 * pixels * ch + 8);
      mem.set(x, 4);
      lrnAcross(mem, 4, 4 + pixels * ch, pixels, ch, p);
      for (let i = 0; i < pixels; i++) {
        for (let c = 0; c < ch; c++) {
          let sum = 0;
          for (let j = c - 2; j <= c + 2; j++) if (j >= 0 && j < ch) sum += x[i * ch + j] ** 2;
          const want = x[i * ch + c] / (p.k + (p.alpha / p.size) * sum) ** beta;
          expect(Math.abs(mem[4 + pixels * ch + i * ch + c] - want)).toBeLessThanOrEqual(Math.abs(want) * 2 ** -23 + 1e-30);
        }
      }
      // The input is left as it was (the op writes elsewhere).
      expect(Array.from(mem.subarray(4, 4 + pixels * ch))).toEqual(Array.from(x));
    });
  }
});

describe('3x3 max pool, stride 1', () => {
  for (const [h, ch] of [[1, 4], [2, 3], [7, 8], [14, 5]] as const) {
    it(`equals the windowed maximum, clipped at the borders (${h}x${h}x${ch})`, () => {
      const x = randomImage(h * h * ch, h * 31 + ch);
      const mem = new Float32Array(2 * h * h * ch);
      mem.set(x);
      maxPoolSame(mem, 0, h * h * ch, h, ch);
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < h; xx++) {
          for (let c = 0; c < ch; c++) {
            let m = -Infinity;
            for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
              const yy = y + dy;
              const xxx = xx + dx;
              if (yy >= 0 && yy < h && xxx >= 0 && xxx < h) m = Math.max(m, x[(yy * h + xxx) * ch + c]);
            }
            expect(mem[h * h * ch + (y * h + xx) * ch + c]).toBe(m);
          }
        }
      }
    });
  }
});
