import { describe, expect, it } from 'vitest';
import { gemmModule, instantiateGemm } from './gemmKernels';

// The flow step's glue kernels against the JavaScript loops they replaced: the same floats, bit for bit.
describe('glue kernels', () => {
  const { module, memory } = gemmModule(1 << 20, false);
  const k = instantiateGemm(module, memory);
  const f = new Float32Array(memory.buffer);
  const ints = new Int32Array(memory.buffer);
  const d = new Float64Array(memory.buffer);
  const [rows, D, n] = [3, 10, 6];
  const src = Float32Array.from({ length: rows * D }, (_, i) => Math.fround(Math.sin(i * 1.7) * 3e6 * (i % 3 === 0 ? 1 : 1e-6)));
  src[4] = NaN;
  src[7] = -0;
  const idx = Int32Array.from([9, 0, 4, 7, 2, 5]);
  const [S, I, O, G] = [0, 64, 128, 256]; // float offsets
  f.set(src, S);
  ints.set(idx, I);

  it('gather and scatter move rows through a permutation', () => {
    k.gather(S * 4, D, I * 4, n, O * 4, n, rows);
    for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) expect(Object.is(f[O + r * n + i], src[r * D + idx[i]])).toBe(true);
    f.fill(0, G, G + rows * D);
    k.scatter(O * 4, n, I * 4, n, G * 4, D, rows);
    for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) expect(Object.is(f[G + r * D + idx[i]], f[O + r * n + i])).toBe(true);
  });

  it('clip, mask, add, row sums and scale as the JavaScript did', () => {
    const C = 1e6;
    k.clipCopy(S * 4, D, O * 4, n, n, rows, C);
    k.maskCopy(S * 4, D, S * 4 + 4, D, G * 4, n, n, rows, C);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < n; i++) {
        const x = src[r * D + i];
        expect(Object.is(f[O + r * n + i], Math.fround(x < -C ? -C : x > C ? C : x))).toBe(true);
        expect(f[G + r * n + i]).toBe(x >= -C && x <= C ? src[r * D + i + 1] : 0);
      }
    }
    const before = Float32Array.from(f.subarray(O, O + n));
    k.addTo(O * 4, S * 4 + 8, n);
    for (let i = 0; i < n; i++) expect(Object.is(f[O + i], Math.fround(before[i] + src[i + 2]))).toBe(true);
    const L = 512; // float64 offset 256 = float offset 512
    d.set([0.25, -1, 0], L / 2);
    k.rowSums((S + 1) * 4, 3, 3, L * 4);
    for (let r = 0; r < 3; r++) {
      let s = 0;
      for (let i = 0; i < 3; i++) s += src[1 + r * 3 + i];
      expect(d[L / 2 + r]).toBe([0.25, -1, 0][r] + s);
    }
    const scale = 1 / 36864;
    k.scaleCopy(S * 4 + 8 * 4, O * 4, 20, scale);
    for (let i = 0; i < 20; i++) expect(Object.is(f[O + i], Math.fround(src[8 + i] * scale))).toBe(true);
  });
});
