import * as tf from '@tensorflow/tfjs';
import { pauseForEvents, throwIfAborted } from '../progress';

/**
 * A fixed affine layer in front of the coupling blocks: y = W (x - mean), with W = L^-1 for the Cholesky
 * factor L of the training features' covariance shrunk towards a scaled identity. It is invertible with a
 * constant log-determinant, so the flow stays a normalizing flow trained by the same maximum likelihood.
 *
 * Why (a deviation from the official code, which feeds the pooled features straight into the blocks):
 * GoogLeNet's 2336 mid-level taps are strongly correlated and their scales span four decades. A flow of
 * 8 blocks trained on ~650 images from PyTorch's default init does not learn that covariance: on Magnetic
 * Tile Defects it scores 94.5 image AUROC and finds 63-65 % of the defects at its own threshold, while a
 * plain Gaussian on the same features scores 95.5 / 73 %. With this layer and the blocks starting at the
 * identity (see `Flow.random`'s identityInit), training starts from that Gaussian and the blocks learn what
 * is not Gaussian: 95.6 AUROC, 75 % recall, 2.1 % false alarms (seed 0; BENCHMARKS.md has the 3-seed run).
 * Per-feature standardisation alone (a diagonal W) made it worse (85.6-88.7): near-constant channels then
 * dominate z^2, which the shrinkage towards the mean variance prevents.
 */
export interface Whitening {
  /** D training means (of the powered features where there is a power). */
  mean: Float32Array;
  /** [D, D] row-major, lower triangular with a positive diagonal: y = matrix (p(x) - mean). */
  matrix: Float32Array;
  /** An elementwise power taken before the whitening; absent: the features as they are. */
  power?: FeaturePower | null;
}

/**
 * p(x) = (max(x, 0) + offset)^exponent on every feature, before the whitening.
 *
 * Why (beyond the official code): pooled ReLU features are non-negative and skewed to the right (on MTD's
 * GoogLeNet taps a fifth of the values are exactly 0, and channel means span five decades), so a Gaussian
 * describes them poorly and the whitening cannot fix that. A root makes them nearly symmetric (the Box-Cox
 * family). On MTD (GoogLeNet's 2336 taps, 3 seeds, the product's held-out threshold; BENCHMARKS.md) the
 * whitened Gaussian scored 95.2 image AUROC and found 74 % of the defects; with the square root 96.9 / 84 %,
 * with the fourth root 97.5 / 88 % (but poorer defect maps: settings.ts's DEFAULT_FEATURE_POWER). On features >= 0 it is a fixed bijection onto [offset^exponent, inf):
 * its log-determinant depends on the row alone, not on any parameter, so training's gradients and the score
 * (mean z^2) are the same without it and the flow's loss leaves it out. The offset keeps its derivative
 * finite at 0, which defect maps differentiate through.
 */
export interface FeaturePower {
  /** In (0, 1]. */
  exponent: number;
  /** In (0, 1]. */
  offset: number;
}

/** p(x) for one feature. */
export function powerFeature(p: FeaturePower, x: number): number {
  return Math.pow((x > 0 ? x : 0) + p.offset, p.exponent);
}

/** dp/dx at x; 0 where x <= 0, as ReLU's gradient is (and TF.js's relu, which the Flow's forward uses). */
export function powerSlope(p: FeaturePower, x: number): number {
  return x > 0 ? p.exponent * Math.pow(x + p.offset, p.exponent - 1) : 0;
}

/** p(x) on every value of `rows`, into a new array. */
export function powerRows(p: FeaturePower, rows: Float32Array): Float32Array {
  const out = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = powerFeature(p, rows[i]);
  return out;
}

/** p(x) on a TF.js tensor, differentiable (the Flow's forward, whose gradients make defect maps). */
export function powerTensor<T extends tf.Tensor>(p: FeaturePower, x: T): T {
  return tf.pow(tf.add(tf.relu(x), p.offset), p.exponent) as T;
}

/** Checks a power read from a file. */
export function checkPower(p: FeaturePower): void {
  const ok = (v: number) => Number.isFinite(v) && v > 0 && v <= 1;
  if (!ok(p.exponent)) throw new Error(`the flow's feature power has exponent ${p.exponent}, expected a number in (0, 1]`);
  if (!ok(p.offset)) throw new Error(`the flow's feature power has offset ${p.offset}, expected a number in (0, 1]`);
}

/** log |det W| of a lower-triangular W: the sum of the logs of its diagonal. */
export function whiteningLogDet(w: Whitening): number {
  const d = w.mean.length;
  let s = 0;
  for (let i = 0; i < d; i++) s += Math.log(w.matrix[i * d + i]);
  return s;
}

/** Checks a whitening read from a file: sizes, finite values, lower triangular, positive diagonal. */
export function checkWhitening(w: Whitening, dim: number): void {
  if (w.power) checkPower(w.power);
  if (w.mean.length !== dim) throw new Error(`the flow's whitening has ${w.mean.length} means for ${dim} features`);
  if (w.matrix.length !== dim * dim) throw new Error(`the flow's whitening matrix has ${w.matrix.length} values, expected ${dim} x ${dim}`);
  for (let i = 0; i < dim; i++) {
    if (!Number.isFinite(w.mean[i])) throw new Error('the flow\'s whitening has a mean that is not a finite number');
    const row = i * dim;
    if (!(w.matrix[row + i] > 0) || !Number.isFinite(w.matrix[row + i])) throw new Error(`the flow's whitening matrix has a diagonal value that is not positive (row ${i})`);
    for (let j = 0; j < i; j++) if (!Number.isFinite(w.matrix[row + j])) throw new Error('the flow\'s whitening matrix has a value that is not a finite number');
    for (let j = i + 1; j < dim; j++) if (w.matrix[row + j] !== 0) throw new Error('the flow\'s whitening matrix is not lower triangular');
  }
}

/**
 * Rows the covariance is estimated from, at most: a bank of rotated copies (761 images x 32 at MTD's size)
 * would take minutes, and its copies of one image are far from independent. Every row counts in the mean.
 */
export const MAX_COVARIANCE_ROWS = 2048;

/** The k-th of `used` rows spread evenly over `count`. */
function coveredRow(k: number, used: number, count: number): number {
  return used === count ? k : Math.floor((k * count) / used);
}

export interface FitWhiteningOptions {
  /** Weight of the scaled identity in the covariance, in (0, 1]. */
  shrinkage: number;
  /** Taken on every feature first; the whitening is then of the powered features. */
  power?: FeaturePower | null;
  signal?: AbortSignal;
}

/**
 * The whitening of `count` rows of `dim` features: their mean, and the inverse Cholesky factor of
 * (1 - a) S + a (trace S / D) I for their covariance S (from at most MAX_COVARIANCE_ROWS of them). All in
 * float64 on this thread, yielding now and then so that a cancel is seen.
 */
export async function fitWhitening(raw: Float32Array, count: number, dim: number, opts: FitWhiteningOptions): Promise<Whitening> {
  const a = opts.shrinkage;
  if (!(a > 0 && a <= 1)) throw new Error(`whitening shrinkage must be in (0, 1], got ${a}`);
  if (count < 2) throw new Error('whitening needs at least 2 training feature rows');
  if (raw.length !== count * dim) throw new Error(`whitening got ${raw.length} values for ${count} rows of ${dim}`);
  const power = opts.power ?? null;
  if (power) checkPower(power);
  const rows = power ? powerRows(power, raw) : raw;
  throwIfAborted(opts.signal, 'training');
  const mean64 = new Float64Array(dim);
  for (let r = 0; r < count; r++) for (let d = 0; d < dim; d++) mean64[d] += rows[r * dim + d];
  for (let d = 0; d < dim; d++) mean64[d] /= count;
  const mean = Float32Array.from(mean64);

  // The lower triangle of the scatter matrix, eight rows at a time so that each pass over it (22 MB at
  // D = 2336) adds eight products: the pass is memory-bound, the products are not. Float64 throughout.
  const cov = new Float64Array(dim * dim);
  const used = Math.min(count, MAX_COVARIANCE_ROWS);
  const block = Array.from({ length: 8 }, () => new Float64Array(dim));
  for (let r0 = 0; r0 < used; r0 += 8) {
    const nb = Math.min(8, used - r0);
    for (let b = 0; b < 8; b++) {
      const row = b < nb ? coveredRow(r0 + b, used, count) * dim : -1;
      for (let d = 0; d < dim; d++) block[b][d] = row < 0 ? 0 : rows[row + d] - mean64[d];
    }
    const [x0, x1, x2, x3, x4, x5, x6, x7] = block;
    for (let i = 0; i < dim; i++) {
      const a0 = x0[i], a1 = x1[i], a2 = x2[i], a3 = x3[i], a4 = x4[i], a5 = x5[i], a6 = x6[i], a7 = x7[i];
      const off = i * dim;
      for (let j = 0; j <= i; j++) cov[off + j] += a0 * x0[j] + a1 * x1[j] + a2 * x2[j] + a3 * x3[j] + a4 * x4[j] + a5 * x5[j] + a6 * x6[j] + a7 * x7[j];
    }
    if (r0 % 128 === 120) {
      await pauseForEvents();
      throwIfAborted(opts.signal, 'training');
    }
  }
  let trace = 0;
  for (let i = 0; i < dim; i++) trace += cov[i * dim + i] / used;
  if (!(trace > 0)) throw new Error('the training images\' features do not vary: cannot whiten them');
  const ridge = (a * trace) / dim;
  // Lower triangle of the shrunk covariance, then its Cholesky factor in place.
  const L = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j <= i; j++) L[i * dim + j] = ((1 - a) * cov[i * dim + j]) / used + (i === j ? ridge : 0);
  for (let j = 0; j < dim; j++) {
    const oj = j * dim;
    let s = L[oj + j];
    for (let k = 0; k < j; k++) s -= L[oj + k] * L[oj + k];
    if (!(s > 0)) throw new Error('the training features\' covariance is not positive definite: cannot whiten them');
    const djj = Math.sqrt(s);
    L[oj + j] = djj;
    for (let i = j + 1; i < dim; i++) {
      const oi = i * dim;
      let t = L[oi + j];
      for (let k = 0; k < j; k++) t -= L[oi + k] * L[oj + k];
      L[oi + j] = t / djj;
    }
    if (j % 64 === 63) {
      await pauseForEvents();
      throwIfAborted(opts.signal, 'training');
    }
  }
  // W = L^-1 by forward substitution, one column of W at a time, kept as a row of Wᵀ so that both
  // inner reads run along memory: W[i, j] = (δij - sum_{k=j..i-1} L[i, k] W[k, j]) / L[i, i].
  const Wt = new Float64Array(dim * dim);
  for (let j = 0; j < dim; j++) {
    const oj = j * dim;
    for (let i = j; i < dim; i++) {
      const oi = i * dim;
      let t = i === j ? 1 : 0;
      for (let k = j; k < i; k++) t -= L[oi + k] * Wt[oj + k];
      Wt[oj + i] = t / L[oi + i];
    }
    if (j % 64 === 63) {
      await pauseForEvents();
      throwIfAborted(opts.signal, 'training');
    }
  }
  const W = new Float32Array(dim * dim);
  for (let j = 0; j < dim; j++) for (let i = j; i < dim; i++) W[i * dim + j] = Wt[j * dim + i];
  return power ? { mean, matrix: W, power } : { mean, matrix: W };
}

/** W (p(x) - mean) for `count` rows on this thread (defect maps whiten one row at a time). */
export function whitenRowsJs(w: Whitening, x: Float32Array, count: number, out: Float32Array = new Float32Array(x.length)): Float32Array {
  const d = w.mean.length;
  const c = new Float64Array(d);
  const p = w.power;
  for (let r = 0; r < count; r++) {
    // Rounded to float32 as the Flow's TF.js forward rounds p(x), so both paths whiten the same values.
    for (let k = 0; k < d; k++) c[k] = (p ? Math.fround(powerFeature(p, x[r * d + k])) : x[r * d + k]) - w.mean[k];
    for (let i = 0; i < d; i++) {
      const oi = i * d;
      let t = 0;
      for (let k = 0; k <= i; k++) t += w.matrix[oi + k] * c[k];
      out[r * d + i] = t;
    }
  }
  return out;
}

/**
 * g W diag(p'(x)): a gradient with respect to the whitened row taken back to the row `x` it was made from
 * (W is lower triangular; the power's slope needs the row).
 */
export function whitenGradientJs(w: Whitening, g: Float32Array, x: Float32Array): Float32Array {
  const d = w.mean.length;
  const out = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    const gi = g[i];
    if (gi === 0) continue;
    const oi = i * d;
    for (let k = 0; k <= i; k++) out[k] += gi * w.matrix[oi + k];
  }
  const p = w.power;
  if (p) for (let k = 0; k < d; k++) out[k] *= powerSlope(p, x[k]);
  return Float32Array.from(out);
}

/** W (p(x) - mean) for many rows (a training bank), on TF.js in chunks. */
export async function whitenRows(w: Whitening, rows: Float32Array, count: number): Promise<Float32Array> {
  const d = w.mean.length;
  const out = new Float32Array(count * d);
  const mean = tf.tensor1d(w.mean);
  const matrixT = tf.tidy(() => tf.tensor2d(w.matrix, [d, d]).transpose());
  try {
    const chunk = Math.max(1, Math.floor(2_000_000 / d));
    for (let r = 0; r < count; r += chunk) {
      const m = Math.min(chunk, count - r);
      const y = tf.tidy(() => {
        const x = tf.tensor2d(rows.subarray(r * d, (r + m) * d), [m, d]);
        return tf.matMul(tf.sub(w.power ? powerTensor(w.power, x) : x, mean) as tf.Tensor2D, matrixT as tf.Tensor2D);
      });
      out.set((await y.data()) as Float32Array, r * d);
      y.dispose();
    }
  } finally {
    mean.dispose();
    matrixT.dispose();
  }
  return out;
}
