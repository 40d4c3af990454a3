import { afterAll, describe, expect, it } from 'vitest';
import { gemmModule, instantiateGemm, type KernelFlavour } from './gemmKernels';
import { GemmRunner } from './threads';
import { nodeThreadSpawner } from '../node/threads';
import { enableRelaxedSimd } from '../node/wasmFeatures';

function filled(n: number, seed: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.fround(Math.sin(i * 0.7 + seed) * 1.5);
  return a;
}

/** Worst |got - want| over the largest |want|: float32 sums of these lengths stay well under 1e-6. */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let d = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return d / scale;
}

// Node 20 needs V8's flag for relaxed SIMD; the fused kernels are what every Node and browser run where they can.
const flavours: KernelFlavour[] = [{ fma: false }, ...(enableRelaxedSimd() ? [{ fma: true }] : [])];

it('this Node runs the fused (relaxed SIMD) kernels', () => {
  expect(flavours.map((x) => x.fma)).toEqual([false, true]);
});

// Shapes with row counts off the 4- and 2-row tiles, and column ranges that start inside the matrix.
const shapes = [
  [1, 4, 8],
  [5, 12, 16],
  [7, 33, 24],
  [24, 192, 64],
];

for (const fl of flavours)
describe(`WebAssembly SIMD GEMM kernels (${fl.fma ? 'fused multiply-add' : 'multiply, add'}) against float64 products`, () => {
  const { module, memory } = gemmModule(8 << 20, false, fl);
  const k = instantiateGemm(module, memory);
  const f = new Float32Array(memory.buffer);
  for (const [M, K, N] of shapes) {
    it(`nn ${M}x${K} . ${K}x${N}, plain, transposed A, bias and ReLU, within 1e-6`, () => {
      const A = filled(M * K, 1);
      const B = filled(K * N, 2);
      const bias = filled(N, 3);
      const [a, b, c, pb] = [0, 4 * M * K, 4 * (M * K + K * N), 4 * (M * K + K * N + M * N)];
      f.set(A, 0);
      f.set(B, b / 4);
      f.set(bias, pb / 4);
      for (const transposed of [false, true]) {
        for (const withBias of [false, true]) {
          const want = new Float64Array(M * N);
          for (let i = 0; i < M; i++)
            for (let j = 0; j < N; j++) {
              let s = withBias ? bias[j] : 0;
              for (let p = 0; p < K; p++) s += (transposed ? A[p * M + i] : A[i * K + p]) * B[p * N + j];
              want[i * N + j] = withBias ? Math.max(0, s) : s;
            }
          // Columns [0, 8) first, then the rest, as two threads would split them.
          const [ars, acs] = transposed ? [1, M] : [K, 1];
          k.nn(a, ars, acs, b, N, c, N, M, 0, 8, K, withBias ? pb : 0, withBias ? 1 : 0, 32);
          k.nn(a, ars, acs, b, N, c, N, M, 8, N, K, withBias ? pb : 0, withBias ? 1 : 0, 32);
          expect(relErr(f.subarray(c / 4, c / 4 + M * N), want)).toBeLessThan(1e-6);
        }
      }
    });

    it(`nt ${M}x${K} . (${N}x${K})^T within 1e-6`, () => {
      const A = filled(M * K, 4);
      const B = filled(N * K, 5);
      const Kr = K - (K % 4);
      const [a, b, c] = [0, 4 * M * K, 4 * (M * K + N * K)];
      f.set(A, 0);
      f.set(B, b / 4);
      const want = new Float64Array(M * N);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let p = 0; p < Kr; p++) want[i * N + j] += A[i * K + p] * B[j * K + p];
      k.nt(a, K, b, K, c, N, M, 0, 4, Kr);
      k.nt(a, K, b, K, c, N, M, 4, N, Kr);
      expect(relErr(f.subarray(c / 4, c / 4 + M * N), want)).toBeLessThan(1e-6);
    });
  }
});

describe('GemmRunner with a helper thread', () => {
  let runner: GemmRunner;
  afterAll(() => runner?.dispose());

  it('splits products and Adam between two threads with the same floats as one', async () => {
    runner = await GemmRunner.create(4 << 20, 1, nodeThreadSpawner);
    expect(runner.threads).toBe(2);
    const single = await GemmRunner.create(4 << 20, 0);
    const [M, K, N] = [9, 40, 48];
    for (const r of [runner, single]) {
      r.f32.set(filled(M * K, 6), 0);
      r.f32.set(filled(K * N, 7), M * K);
      r.nn(0, K, 1, 4 * M * K, N, 4 * (M * K + K * N), N, M, N, K);
      r.nt(0, K, 0, K, 4 * (M * K + K * N + M * N), M, M, M - (M % 4), K);
    }
    // Adam over the product's output as parameters, the B matrix as gradients, moments after them.
    const at = M * K + K * N + M * N + M * M;
    const count = 4 * 60;
    const before = Array.from(single.f32.subarray(M * K + K * N, M * K + K * N + count));
    for (const r of [runner, single]) {
      r.f32.set(filled(2 * count, 11), at);
      r.adam(4 * (M * K + K * N), 4 * (M * K), 4 * at, 4 * (at + count), count, { beta1: 0.8, beta2: 0.9, eps: 1e-4, weightDecay: 1e-5, rate: 2e-3, invSqrtBc2: 1.3 });
    }
    const end = at + 2 * count;
    expect(Array.from(runner.f32.subarray(0, end))).toEqual(Array.from(single.f32.subarray(0, end)));
    // Adam moved every parameter, so the comparison above covers its split.
    const after = Array.from(single.f32.subarray(M * K + K * N, M * K + K * N + count));
    expect(after.every((v, i) => v !== before[i])).toBe(true);
    single.dispose();
  });
});

describe('nn on B in strips of 8 columns, split by rows (the host backbone\'s convolutions)', () => {
  // 701 x 600: more rows than one block of A holds (262144 / 600 -> 436), and a row count off the tiles.
  const [M, K, N] = [701, 600, 24];
  const A = filled(M * K, 8);
  const B = filled(K * N, 9);
  const bias = filled(N, 10);
  const want = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = bias[j];
      for (let p = 0; p < K; p++) s += A[i * K + p] * B[p * N + j];
      want[i * N + j] = Math.max(0, s);
    }
  const strips = new Float32Array(K * N);
  for (let p = 0; p < K; p++) for (let j = 0; j < N; j++) strips[(j >> 3) * K * 8 + p * 8 + (j & 7)] = B[p * N + j];
  const [a, b, pb, c] = [0, 4 * M * K, 4 * (M * K + K * N), 4 * (M * K + K * N + N)];
  const runners: GemmRunner[] = [];
  afterAll(() => runners.forEach((r) => r.dispose()));

  for (const helpers of [0, 1]) {
    it(`within 5e-6 of float64 (sums of 600 floats), on ${helpers + 1} thread(s), into the right half of C's rows`, async () => {
      const r = await GemmRunner.create(4 * (M * K + K * N + N + 2 * M * N) + 64, helpers, nodeThreadSpawner);
      runners.push(r);
      r.f32.set(A, 0);
      r.f32.set(strips, b / 4);
      r.f32.set(bias, pb / 4);
      // C rows 2N wide with this product in columns [N, 2N), as Fire's second expand writes beside the first.
      r.nnRows(a, K, b, c + 4 * N, 2 * N, M, N, K, pb, true);
      const got = new Float32Array(M * N);
      for (let i = 0; i < M; i++) got.set(r.f32.subarray(c / 4 + i * 2 * N + N, c / 4 + i * 2 * N + 2 * N), i * N);
      expect(relErr(got, want)).toBeLessThan(5e-6);
      r.f32.fill(7, c / 4, c / 4 + 2 * M * N);
      r.nnRows(a, K, b, c + 4 * N, 2 * N, M, N, K, pb, true);
      for (let i = 0; i < M; i++) expect(r.f32.subarray(c / 4 + i * 2 * N, c / 4 + i * 2 * N + N).every((v) => v === 7)).toBe(true); // columns [0, N) untouched
    });
  }
});
