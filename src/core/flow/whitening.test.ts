import { beforeAll, describe, expect, it } from 'vitest';
import { Flow } from './flow';
import { HostFlow } from './hostFlow';
import { checkWhitening, fitWhitening, whiteningLogDet, whitenRows, whitenRowsJs, type Whitening } from './whitening';
import { leakedTensors, setupTf, tf } from '../../../test/support/tf';
import { seededRandom } from '../random';
import { flowGradient, hostFlowGradient } from '../score/hostMap';
import { scoreFeatureRows } from '../score/score';
import { trainFlow, type FlowTrainOptions } from '../train/trainFlow';
import { PAPER_ADAM } from '../train/adamConfig';
import type { FeatureBank } from '../train/featureBank';

beforeAll(setupTf);

/** Correlated rows with scales over four decades, as GoogLeNet's taps have: x = A g + offset. */
function correlated(count: number, dim: number, seed: number): Float32Array {
  const rand = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const a = Array.from({ length: dim * dim }, () => gauss());
  const scale = Array.from({ length: dim }, (_, i) => 10 ** (-2 + (4 * i) / dim));
  const out = new Float32Array(count * dim);
  for (let r = 0; r < count; r++) {
    const g = Array.from({ length: dim }, gauss);
    for (let i = 0; i < dim; i++) {
      let t = 0;
      for (let k = 0; k < dim; k++) t += a[i * dim + k] * g[k] * (k < dim / 2 ? 1 : 0.1);
      out[r * dim + i] = scale[i] * (t + 3);
    }
  }
  return out;
}

/** Shrunk covariance in float64, straight from the definition. */
function shrunkCovariance(x: Float32Array, count: number, dim: number, a: number): Float64Array {
  const mu = new Float64Array(dim);
  for (let r = 0; r < count; r++) for (let d = 0; d < dim; d++) mu[d] += x[r * dim + d] / count;
  const s = new Float64Array(dim * dim);
  for (let r = 0; r < count; r++) for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) s[i * dim + j] += ((x[r * dim + i] - mu[i]) * (x[r * dim + j] - mu[j])) / count;
  let tr = 0;
  for (let i = 0; i < dim; i++) tr += s[i * dim + i];
  for (let i = 0; i < dim * dim; i++) s[i] *= 1 - a;
  for (let i = 0; i < dim; i++) s[i * dim + i] += (a * tr) / dim;
  return s;
}

describe('whitening', () => {
  const dim = 12;
  const count = 40;
  const x = correlated(count, dim, 3);

  it('W S Wᵀ is the identity for the shrunk covariance S (float64 reference), within 1e-5', async () => {
    const w = await fitWhitening(x, count, dim, { shrinkage: 0.05 });
    const s = shrunkCovariance(x, count, dim, 0.05);
    let worst = 0;
    for (let i = 0; i < dim; i++) {
      for (let j = 0; j < dim; j++) {
        let t = 0;
        for (let k = 0; k < dim; k++) for (let l = 0; l < dim; l++) t += w.matrix[i * dim + k] * s[k * dim + l] * w.matrix[j * dim + l];
        worst = Math.max(worst, Math.abs(t - (i === j ? 1 : 0)));
      }
    }
    expect(worst).toBeLessThan(1e-5);
    expect(() => checkWhitening(w, dim)).not.toThrow();
    for (let d = 0; d < dim; d++) expect(w.mean[d]).toBeCloseTo(Array.from({ length: count }, (_, r) => x[r * dim + d]).reduce((a, b) => a + b) / count, 4);
  });

  it('whitens rows alike on TF.js and in plain JavaScript (float32 rounding, 1e-5 relative)', async () => {
    const w = await fitWhitening(x, count, dim, { shrinkage: 0.05 });
    const a = await whitenRows(w, x, count);
    const b = whitenRowsJs(w, x, count);
    const big = Math.max(...b.map(Math.abs));
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-5 * big);
  });

  it('refuses bad input: no variation, too few rows, shrinkage out of range, a cancelled signal', async () => {
    await expect(fitWhitening(new Float32Array(4 * 3).fill(2), 4, 3, { shrinkage: 0.1 })).rejects.toThrow(/do not vary/);
    await expect(fitWhitening(x.subarray(0, dim), 1, dim, { shrinkage: 0.1 })).rejects.toThrow(/at least 2/);
    await expect(fitWhitening(x, count, dim, { shrinkage: 0 })).rejects.toThrow(/shrinkage/);
    const c = new AbortController();
    c.abort();
    await expect(fitWhitening(x, count, dim, { shrinkage: 0.1, signal: c.signal })).rejects.toThrow(/cancelled/);
  });

  it('checks a whitening read from a file', () => {
    const ok: Whitening = { mean: new Float32Array(2), matrix: Float32Array.from([1, 0, 0.5, 2]) };
    expect(() => checkWhitening(ok, 2)).not.toThrow();
    expect(() => checkWhitening({ ...ok, matrix: Float32Array.from([1, 0.1, 0.5, 2]) }, 2)).toThrow(/not lower triangular/);
    expect(() => checkWhitening({ ...ok, matrix: Float32Array.from([1, 0, 0.5, -2]) }, 2)).toThrow(/not positive/);
    expect(() => checkWhitening({ ...ok, matrix: Float32Array.from([1, 0, NaN, 2]) }, 2)).toThrow(/finite/);
    expect(() => checkWhitening({ ...ok, mean: new Float32Array(3) }, 2)).toThrow(/3 means/);
    expect(whiteningLogDet(ok)).toBeCloseTo(Math.log(2), 12);
  });
});

describe('a whitened flow', () => {
  const dim = 16;
  const count = 48;
  const x = correlated(count, dim, 9);
  const cfg = { inputDim: dim, blocks: 2, hidden: 16, clamp: 3 };

  it('with identity init scores exactly the Gaussian: mean z² = Mahalanobis distance / D, log-det constant', async () => {
    const w = await fitWhitening(x, count, dim, { shrinkage: 0.02 });
    const flow = Flow.random(cfg, 1, { whitening: w, identityInit: true });
    const scores = await scoreFeatureRows(flow, x, dim, 1);
    const y = whitenRowsJs(w, x, count);
    for (let r = 0; r < count; r++) {
      let m = 0;
      for (let d = 0; d < dim; d++) m += y[r * dim + d] ** 2;
      expect(scores[r]).toBeCloseTo(m / dim, 4);
    }
    const { logDet } = flow.forward(tf.tensor2d(x, [count, dim]));
    expect(Array.from(await logDet.data()).every((v) => Math.abs(v - whiteningLogDet(w)) < 1e-4 * Math.abs(whiteningLogDet(w)))).toBe(true);
    flow.dispose();
  });

  it('round-trips its whitening through a state dict; half a whitening or a wrong shape is refused', async () => {
    const w = await fitWhitening(x, count, dim, { shrinkage: 0.02 });
    const flow = Flow.random(cfg, 2, { whitening: w });
    const sd = await flow.toStateDict();
    const back = Flow.fromStateDict(sd);
    expect(Array.from(await scoreFeatureRows(back, x, dim, 1))).toEqual(Array.from(await scoreFeatureRows(flow, x, dim, 1)));
    const half = new Map(sd);
    half.delete('whiten.matrix');
    expect(() => Flow.fromStateDict(half)).toThrow(/whitening is incomplete/);
    const wrong = new Map(sd);
    wrong.set('whiten.mean', { shape: [dim - 1], data: new Float32Array(dim - 1) });
    expect(() => Flow.fromStateDict(wrong)).toThrow(/expected \[16\]/);
    flow.dispose();
    back.dispose();
  });

  it("input gradient on the host kernels (whitening before and after them) equals TF.js's autodiff through the whole flow, 1e-5 relative", async () => {
    const w = await fitWhitening(x, count, dim, { shrinkage: 0.02 });
    const flow = Flow.random(cfg, 3, { whitening: w });
    const host = await HostFlow.create(flow.config, 1, { helpers: 0 }, undefined, true);
    host.load(await flow.toStateDict());
    for (let r = 0; r < 3; r++) {
      const row = x.slice(r * dim, (r + 1) * dim);
      const a = hostFlowGradient(host, flow, row);
      const b = flowGradient(flow, row).grad;
      const big = Math.max(...b.map(Math.abs));
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-5 * big);
    }
    host.dispose();
    flow.dispose();
  });

  it('trains alike on the host kernels (bank whitened once) and on TF.js (whitened every step), and leaks nothing', async () => {
    const w = await fitWhitening(x, count, dim, { shrinkage: 0.02 });
    const bank: FeatureBank = { dim, count: count / 2, copies: 2, data: x };
    const opts: FlowTrainOptions = { epochs: 2, subEpochs: 2, batchSize: 6, transforms: 2, adam: { ...PAPER_ADAM, lr: 1e-3 }, seed: 5 };
    const run = async (engine: 'host' | 'tfjs') => {
      const flow = Flow.random(cfg, 4, { whitening: w, identityInit: true });
      const r = await trainFlow(flow, bank, { ...opts, engine });
      const scores = await scoreFeatureRows(flow, x, dim, 1);
      flow.dispose();
      return { losses: r.losses, scores };
    };
    const a = await run('host');
    const b = await run('tfjs');
    a.losses.forEach((l, i) => expect(Math.abs(l - b.losses[i])).toBeLessThan(1e-4 * Math.abs(b.losses[i])));
    a.scores.forEach((s, i) => expect(Math.abs(s - b.scores[i])).toBeLessThan(1e-4 * Math.abs(b.scores[i])));
    // Training moved the blocks off the identity, so the scores are no longer the Gaussian's.
    const y = whitenRowsJs(w, x, count);
    const gaussian = Array.from({ length: count }, (_, r) => y.subarray(r * dim, (r + 1) * dim).reduce((s, v) => s + v * v, 0) / dim);
    expect(Math.max(...gaussian.map((g, i) => Math.abs(g - a.scores[i])))).toBeGreaterThan(1e-3);
    expect(await leakedTensors(() => run('host'))).toBe(0);
  });
});
