import { describe, expect, it } from 'vitest';
import { GemmRunner } from '../wasm/threads';
import { seededRandom } from '../random';
import { col2imAdd, lrnBack, maxPoolBackAdd, reluBackInPlace, reluBackSlice, transposedPatchMatrix } from './hostBackward';
import type { PlanConv } from './plan';

// The backward-for-data ops against float64 references written from their definitions: the adjoint of
// im2col (each patch tap back to its pixel), the max pool's routing (first largest of each window), and the
// derivative of Caffe's LRN. Bounds: float32 rounding of the result (the ops sum in float32 or float64).

function random(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** max |got - want| over max |want|. */
function rel(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] - want[i]));
    m = Math.max(m, Math.abs(want[i]));
  }
  return d / m;
}

describe('col2im (the adjoint of im2col)', () => {
  for (const [h, c, k, stride, pad] of [
    [11, 3, 11, 4, 2],
    [9, 8, 3, 1, 1],
    [10, 5, 3, 2, 0],
    [7, 4, 5, 1, 2],
    [6, 16, 1, 1, 0],
  ] as const) {
    it(`adds patch gradients back to their pixels (${h} px, ${c} channels, ${k}x${k} / ${stride}, pad ${pad}${c % 4 === 0 ? '; the loop and the WebAssembly kernel' : ''})`, async () => {
      const o = Math.floor((h + 2 * pad - k) / stride) + 1;
      const ld = Math.ceil((k * k * c) / 8) * 8;
      const dcol = random(o * o * ld, h * k);
      const start = random(h * h * c, 5);
      // float64: loop over every output pixel and tap, in the definition's order.
      const want = Float64Array.from(start);
      for (let oy = 0; oy < o; oy++)
        for (let ox = 0; ox < o; ox++)
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++)
              for (let ci = 0; ci < c; ci++) {
                const iy = oy * stride - pad + ky;
                const ix = ox * stride - pad + kx;
                if (iy >= 0 && iy < h && ix >= 0 && ix < h) want[(iy * h + ix) * c + ci] += dcol[(oy * o + ox) * ld + (ky * k + kx) * c + ci];
              }
      const mem = new Float32Array(8 + dcol.length + start.length);
      mem.set(dcol, 8);
      mem.set(start, 8 + dcol.length);
      col2imAdd(mem, 8, ld, 8 + dcol.length, { h, c, k, stride, pad, o });
      expect(rel(mem.subarray(8 + dcol.length), want)).toBeLessThan(k * k * 2 ** -23);
      // The patch gradients are only read.
      expect(Array.from(mem.subarray(8, 8 + dcol.length))).toEqual(Array.from(dcol));
      if (c % 4 !== 0) return;
      const run = await GemmRunner.create(4 * (8 + dcol.length + start.length) + 64);
      run.f32.set(dcol, 8);
      run.f32.set(start, 8 + dcol.length);
      run.col2imAdd(32, ld, 4 * (8 + dcol.length), h, c, k, stride, pad, o);
      expect(Array.from(run.f32.subarray(8 + dcol.length, 8 + dcol.length + start.length))).toEqual(Array.from(mem.subarray(8 + dcol.length)));
      run.dispose();
    });
  }

  it('is the adjoint of im2col: <im2col x, y> = <x, col2im y> (float64 sums)', () => {
    const [h, c, k, stride, pad] = [9, 3, 3, 2, 1];
    const o = Math.floor((h + 2 * pad - k) / stride) + 1;
    const ld = k * k * c + 5;
    const x = random(h * h * c, 1);
    const y = random(o * o * ld, 2);
    let left = 0;
    for (let oy = 0; oy < o; oy++)
      for (let ox = 0; ox < o; ox++)
        for (let t = 0; t < k * k * c; t++) {
          const ky = Math.floor(t / (k * c));
          const kx = Math.floor(t / c) % k;
          const ci = t % c;
          const iy = oy * stride - pad + ky;
          const ix = ox * stride - pad + kx;
          const v = iy >= 0 && iy < h && ix >= 0 && ix < h ? x[(iy * h + ix) * c + ci] : 0;
          left += v * y[(oy * o + ox) * ld + t];
        }
    const mem = new Float32Array(y.length + x.length);
    mem.set(y);
    col2imAdd(mem, 0, ld, y.length, { h, c, k, stride, pad, o });
    let right = 0;
    for (let i = 0; i < x.length; i++) right += x[i] * mem[y.length + i];
    expect(Math.abs(left - right)).toBeLessThan(1e-5 * Math.abs(left));
  });
});

describe('the transposed weights', () => {
  it('hold W[co][(ky k + kx) in + ci] in strips of 8 columns, zero past k k in', () => {
    const [cout, cin, k] = [16, 3, 3];
    const conv: PlanConv = { name: 't', shape: [cout, cin, k, k], weight: random(cout * cin * k * k, 3), bias: new Float32Array(cout), stride: 1, pad: 1 };
    const m = transposedPatchMatrix(conv);
    const cols = 32;
    expect(m.length).toBe(cols * cout);
    for (let co = 0; co < cout; co++) {
      for (let j = 0; j < cols; j++) {
        const got = m[(j >> 3) * cout * 8 + co * 8 + (j & 7)];
        if (j >= k * k * cin) expect(got).toBe(0);
        else {
          const t = Math.floor(j / cin);
          const ci = j % cin;
          expect(got).toBe(conv.weight[(co * cin + ci) * k * k + t]);
        }
      }
    }
  });
});

describe('max pool backward', () => {
  // Post-ReLU-like inputs with exact ties (many zeros, a few repeated values) to check the routing rule.
  function pooledInput(n: number, seed: number): Float32Array {
    const r = seededRandom(seed);
    return Float32Array.from({ length: n }, () => Math.max(0, Math.round((r() - 0.4) * 6)));
  }
  for (const [h, c, stride, o] of [
    [9, 4, 2, 4],
    [8, 4, 2, 4],
    [7, 3, 1, 7],
    [1, 2, 1, 1],
    [11, 12, 2, 5],
    [6, 8, 1, 6],
  ] as const) {
    it(`sends each output's gradient to the first largest input of its window (${h} px, stride ${stride}${stride === 2 && (o - 1) * 2 + 3 > h ? ', ceil mode' : ''}${c % 4 === 0 ? '; the loop and the WebAssembly kernel' : ''})`, async () => {
      const x = pooledInput(h * h * c, h + stride);
      const g = random(o * o * c, 9);
      const want = new Float64Array(h * h * c).fill(0.5);
      const off = stride === 1 ? -1 : 0;
      for (let oy = 0; oy < o; oy++)
        for (let ox = 0; ox < o; ox++)
          for (let ch = 0; ch < c; ch++) {
            let best = -1;
            let m = -Infinity;
            for (let y = oy * stride + off; y < oy * stride + off + 3; y++)
              for (let xx = ox * stride + off; xx < ox * stride + off + 3; xx++) {
                if (y < 0 || y >= h || xx < 0 || xx >= h) continue;
                const v = x[(y * h + xx) * c + ch];
                if (v > m) {
                  m = v;
                  best = (y * h + xx) * c + ch;
                }
              }
            want[best] += g[(oy * o + ox) * c + ch];
          }
      const mem = new Float32Array(x.length + g.length + x.length);
      mem.set(x);
      mem.set(g, x.length);
      mem.fill(0.5, x.length + g.length);
      maxPoolBackAdd(mem, 0, h, c, stride, o, x.length, x.length + g.length);
      expect(rel(mem.subarray(x.length + g.length), want)).toBeLessThan(4 * 2 ** -23);
      if (c % 4 !== 0) return;
      const run = await GemmRunner.create(4 * mem.length + 64);
      run.f32.set(x, 4);
      run.f32.set(g, 4 + x.length);
      run.f32.fill(0.5, 4 + x.length + g.length, 4 + x.length + g.length + x.length);
      run.maxPoolBack(16, h, c, stride, o, 16 + 4 * x.length, 16 + 4 * (x.length + g.length));
      expect(Array.from(run.f32.subarray(4 + x.length + g.length, 4 + 2 * x.length + g.length))).toEqual(Array.from(mem.subarray(x.length + g.length)));
      run.dispose();
    });
  }
});

describe('LRN backward', () => {
  for (const [pixels, ch, beta] of [
    [4, 64, 0.75],
    [3, 7, 0.6],
    [2, 3, 0.75],
  ] as const) {
    it(`equals the derivative of the float64 definition (${pixels} pixels x ${ch} channels, beta ${beta}), and central differences`, () => {
      const p = { size: 5, alpha: 1e-2, beta, k: 1 };
      const x = random(pixels * ch, ch, 0, 4);
      const g = random(pixels * ch, ch + 1);
      const lrn = (v: Float64Array, i: number, c: number) => {
        let s = 0;
        for (let j = c - 2; j <= c + 2; j++) if (j >= 0 && j < ch) s += v[i * ch + j] ** 2;
        return v[i * ch + c] / (p.k + (p.alpha / p.size) * s) ** beta;
      };
      // d/dx_j of sum_c g_c y_c, written out term by term in float64.
      const want = new Float64Array(pixels * ch);
      for (let i = 0; i < pixels; i++)
        for (let j = 0; j < ch; j++) {
          let d = 0;
          for (let c = Math.max(0, j - 2); c <= Math.min(ch - 1, j + 2); c++) {
            let s = 0;
            for (let q = c - 2; q <= c + 2; q++) if (q >= 0 && q < ch) s += x[i * ch + q] ** 2;
            s = p.k + (p.alpha / p.size) * s;
            const yc = x[i * ch + c] * s ** -beta;
            d += g[i * ch + c] * ((c === j ? s ** -beta : 0) - ((2 * p.alpha * beta) / p.size) * x[i * ch + j] * (yc / s));
          }
          want[i * ch + j] = d;
        }
      const mem = new Float32Array(3 * pixels * ch);
      mem.set(x);
      mem.set(g, pixels * ch);
      lrnBack(mem, 0, pixels * ch, 2 * pixels * ch, pixels, ch, p);
      const got = mem.subarray(2 * pixels * ch);
      expect(rel(got, want)).toBeLessThan(1e-6);
      // The written-out derivative itself, against central differences of the definition.
      const x64 = Float64Array.from(x);
      const eps = 1e-6;
      for (const at of [0, ch - 1, Math.floor(ch / 2) + ch * (pixels - 1)]) {
        const i = Math.floor(at / ch);
        const f = () => Array.from({ length: ch }, (_, c) => g[i * ch + c] * lrn(x64, i, c)).reduce((a, b) => a + b, 0);
        x64[at] += eps;
        const up = f();
        x64[at] -= 2 * eps;
        const down = f();
        x64[at] += eps;
        expect(Math.abs((up - down) / (2 * eps) - want[at])).toBeLessThan(1e-7);
      }
    });
  }
});

describe('ReLU backward', () => {
  it('keeps the gradient where the output is positive, for a slice of a concatenated output and in place', () => {
    const y = Float32Array.from([0, 1, -0, 2, 3, 0, 5, NaN, 0.5, 0, 1, 1]);
    const g = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const mem = new Float32Array(32);
    mem.set(y);
    mem.set(g, 12);
    // Columns 1-2 of 3 pixels x 4 channels.
    reluBackSlice(mem, 1, 13, 4, 3, 2, 24);
    expect(Array.from(mem.subarray(24, 30))).toEqual([2, 0, 0, 7, 0, 11]);
    reluBackInPlace(mem, 0, 12, 12);
    expect(Array.from(mem.subarray(12, 24))).toEqual([0, 2, 0, 4, 5, 0, 7, 0, 9, 0, 11, 12]);
  });
});
