// What the hardware allows, measured in the benchmark's own run: the float32 peak of this machine's cores
// (numpy's matrix product, native code) and of WebAssembly SIMD (the flow's GEMM kernel on every core),
// and the FLOPs of one feature extraction, counted from the convolutions TF.js actually runs.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { GemmRunner } from '../src/core/wasm/threads';
import { nodeFlowThreads } from '../src/core/node/threads';
import type { Backbone } from '../src/core/backbones/types';
import { multiScaleFeatures, type FeatureConfig } from '../src/core/internal';

/** Pythons to ask, best first: the one on PATH may have an optimised BLAS where Debian's has the reference one. */
const PYTHONS = ['python3', '/usr/bin/python3'];

/** GFLOP/s of numpy's float32 2048^3 product (best of 5; the fastest numpy found), or null where there is none. */
export function numpyPeak(): number | null {
  const rates = PYTHONS.map(numpyRate).filter((x): x is number => x !== null && Number.isFinite(x));
  return rates.length ? Math.max(...rates) : null;
}

function numpyRate(python: string): number | null {
  if (python.startsWith('/') && !existsSync(python)) return null;
  try {
    const out = execFileSync(
      python,
      ['-c', 'import numpy as np, time\na = np.random.rand(2048, 2048).astype(np.float32); b = np.random.rand(2048, 2048).astype(np.float32); a @ b\nbest = min((lambda t: (a @ b, time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(5))\nprint(2 * 2048 ** 3 / best / 1e9)'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    return Number(out.trim());
  } catch {
    return null;
  }
}

/**
 * GFLOP/s of the WebAssembly SIMD kernel on every core, on a 240 x 512 x 512 product whose operands stay
 * in cache as the flow's do (on 2048^3, before its fused multiply-adds, it ran at a third of this: 11.4
 * against 30.2 GFLOP/s). Best of a second of runs: V8 first runs a module on its baseline compiler and
 * swaps in the optimised code a moment later, so five runs could all be the slow ones (22.9 GFLOP/s in
 * one benchmark, 60.6 in another).
 */
export async function wasmPeak(): Promise<number> {
  const [m, k, n] = [240, 512, 512];
  const threads = nodeFlowThreads();
  const run = await GemmRunner.create(4 * (m * k + k * n + m * n) + 64, threads.helpers, threads.spawn);
  try {
    for (let i = 0; i < m * k + k * n; i++) run.f32[i] = (i % 7) * 0.1;
    let best = Infinity;
    const until = performance.now() + 1000;
    for (let r = 0; r < 5 || performance.now() < until; r++) {
      const t = performance.now();
      run.nn(0, k, 1, 4 * m * k, n, 4 * (m * k + k * n), n, m, n, k);
      best = Math.min(best, (performance.now() - t) / 1000);
    }
    return (2 * m * k * n) / best / 1e9;
  } finally {
    run.dispose();
  }
}

/** FLOPs of the convolutions in one feature extraction (all scales), from TF.js's own kernel shapes. */
export async function featureFlops(backbone: Backbone, features: FeatureConfig): Promise<number> {
  const x = tf.zeros([1, features.size, features.size, 3]) as tf.Tensor4D;
  const info = await tf.profile(() => multiScaleFeatures(backbone, x, features));
  tf.dispose([x, info.result as tf.Tensor]);
  let flops = 0;
  for (const k of info.kernels) {
    if (!/Conv2D/.test(k.name)) continue;
    const out = k.outputShapes[0];
    const filter = k.inputShapes[1];
    if (!out || !filter || out.length !== 4 || filter.length !== 4) continue;
    // NHWC output, [kh, kw, in, out] filter: a multiply and an add per filter tap per output value.
    flops += 2 * out[1] * out[2] * out[3] * filter[0] * filter[1] * filter[2];
  }
  return flops;
}

/** One flow training step: forward and backward (about twice the forward) through every weight, per row. */
export function flowStepFlops(params: number, rows: number): number {
  return 6 * params * rows;
}
