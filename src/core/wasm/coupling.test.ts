import { describe, expect, it } from 'vitest';
import { gemmModule, instantiateGemm } from './gemmKernels';

const { module, memory } = gemmModule(4 << 20, false);
const k = instantiateGemm(module, memory);
const f = new Float32Array(memory.buffer);

/** Largest |got - want| / |want| over the floats. */
function worstRel(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let w = 0;
  for (let i = 0; i < want.length; i++) w = Math.max(w, Math.abs(got[i] - want[i]) / Math.max(Math.abs(want[i]), 1e-30));
  return w;
}

/** Rows x 2l subnet outputs: s in the first half (spanning +-1e4, with tiny and exactly zero values), t in the second. */
function subnetOut(rows: number, l: number): Float32Array {
  const o = new Float32Array(rows * 2 * l);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < l; i++) {
      const u = (r * l + i) / (rows * l) - 0.5;
      o[r * 2 * l + i] = i === 0 ? 0 : Math.sign(u) * 10 ** (8 * Math.abs(u) * 2 - 4);
      o[r * 2 * l + l + i] = Math.sin(r + i);
    }
  return o;
}

describe('affine-coupling SIMD kernels against float64 Math', () => {
  const [rows, l] = [6, 256];
  const o = subnetOut(rows, l);
  const x = Float32Array.from({ length: rows * l }, (_, i) => Math.cos(i));
  const [po, px, pls, pe, py] = [0, 1, 2, 3, 4].map((j) => j * rows * 2 * l);

  for (const [c, kk] of [
    [3, 3 * 0.636],
    [1, 55],
  ]) {
    // 4e-7 relative is 2^-21.3: 2 ulp of the approximations plus k and s / c rounded to float32.
    it(`affine with clamp ${c}, k ${kk}: atan and exp within 4e-7 relative, y within 1e-6`, () => {
      f.set(o, po);
      f.set(x, px);
      f.fill(NaN, pls, py + rows * l);
      // Rows in two calls, as two threads would split them.
      k.affine(4 * po, 4 * px, 4 * pls, 4 * pe, 4 * py, l, 0, 2, c, kk);
      k.affine(4 * po, 4 * px, 4 * pls, 4 * pe, 4 * py, l, 2, rows, c, kk);
      const ls = f.slice(pls, pls + rows * l);
      const e = f.slice(pe, pe + rows * l);
      const y = f.slice(py, py + rows * l);
      const wantLs = new Float64Array(rows * l);
      const wantE = new Float64Array(rows * l);
      const wantY = new Float64Array(rows * l);
      for (let r = 0; r < rows; r++)
        for (let i = 0; i < l; i++) {
          const at = r * l + i;
          wantLs[at] = kk * Math.atan(Math.fround(o[r * 2 * l + i] / c));
          // exp judged on the kernel's own ls, so that atan's error is not counted twice.
          wantE[at] = Math.exp(ls[at]);
          wantY[at] = e[at] * x[at] + o[r * 2 * l + l + i];
        }
      expect(worstRel(ls, wantLs)).toBeLessThan(4e-7);
      expect(worstRel(e, wantE)).toBeLessThan(4e-7);
      // The clamp reached: |ls| spans nearly k pi / 2 (exp tested up to e^86 for k = 55).
      expect(Math.max(...ls.map(Math.abs))).toBeGreaterThan(kk * 1.5);
      let yErr = 0;
      for (let i = 0; i < y.length; i++) yErr = Math.max(yErr, Math.abs(y[i] - wantY[i]) / (Math.abs(e[i] * x[i]) + 1));
      expect(yErr).toBeLessThan(1e-6);
    });
  }

  it('affineBack: the subnet-output and input gradients of y = exp(ls) x + t within 1e-6', () => {
    const [c, g] = [3, -1e-4];
    const e = Float32Array.from({ length: rows * l }, (_, i) => Math.exp(Math.sin(i)));
    const dy = Float32Array.from({ length: rows * l }, (_, i) => Math.sin(3 * i));
    const [pdy, pe2, pdO, pdx] = [5, 6, 7, 9].map((j) => j * rows * 2 * l);
    f.set(o, po);
    f.set(x, px);
    f.set(dy, pdy);
    f.set(e, pe2);
    k.affineBack(4 * pdy, 4 * pe2, 4 * px, 4 * po, 4 * pdO, 4 * pdx, l, 0, 3, c, g);
    k.affineBack(4 * pdy, 4 * pe2, 4 * px, 4 * po, 4 * pdO, 4 * pdx, l, 3, rows, c, g);
    let worst = 0;
    for (let r = 0; r < rows; r++)
      for (let i = 0; i < l; i++) {
        const at = r * l + i;
        const s = o[r * 2 * l + i] / c;
        const dS = ((dy[at] * e[at] * x[at] + g) * 0.636) / (1 + s * s);
        const scale = (Math.abs(dy[at] * e[at] * x[at]) + Math.abs(g)) * 0.636 / (1 + s * s) + 1e-30;
        worst = Math.max(worst, Math.abs(f[pdO + r * 2 * l + i] - dS) / scale);
        expect(f[pdO + r * 2 * l + l + i]).toBe(dy[at]);
        expect(f[pdx + at]).toBe(Math.fround(dy[at] * e[at]));
      }
    expect(worst).toBeLessThan(1e-6);
  });

  it('affine on special values: -0 keeps its sign, +-Infinity reach +-k pi / 2, NaN stays NaN', () => {
    const l4 = 4;
    const s = [-0, Infinity, -Infinity, NaN];
    f.set([...s, 1, 2, 3, 4], 0);
    f.set([1, 1, 1, 1], 8);
    k.affine(0, 32, 64, 80, 96, l4, 0, 1, 3, 2);
    const ls = Array.from(f.subarray(16, 20));
    expect(Object.is(ls[0], -0)).toBe(true);
    expect(ls[1]).toBeCloseTo(Math.PI, 6);
    expect(ls[2]).toBeCloseTo(-Math.PI, 6);
    expect(ls[3]).toBeNaN();
    expect(f[20]).toBe(1);
    expect(Number.isNaN(f[23])).toBe(true);
  });

  it('reluMask zeroes the gradient where the activation is not positive (NaN and -0 included)', () => {
    const h = Float32Array.from([1, 0, -0, -2, NaN, 1e-30, 3, -1]);
    const d = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    f.set(h, 0);
    f.set(d, 8);
    k.reluMask(0, 32, 8);
    expect(Array.from(f.subarray(8, 16))).toEqual([1, 0, 0, 0, 0, 6, 7, 0]);
  });
});
