import { beforeAll, describe, expect, it } from 'vitest';
import { Flow } from './flow';
import { HostFlow } from './hostFlow';
import { checkWhitening, fitWhitening, powerFeature, powerRows, powerSlope, whiteningLogDet, whitenGradientJs, whitenRows, whitenRowsJs, type FeaturePower, type Whitening } from './whitening';
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

describe('a feature power before the whitening', () => {
  const dim = 16;
  const count = 48;
  const power: FeaturePower = { exponent: 0.25, offset: 0.001 };
  /** Pooled ReLU features: non-negative, many exactly 0 (a few made negative, which p clamps to 0). */
  const x = correlated(count, dim, 11).map((v, i) => (i % 7 === 0 ? 0 : i % 29 === 0 ? -0.5 : Math.abs(v)));
  const cfg = { inputDim: dim, blocks: 2, hidden: 16, clamp: 3 };

  it('p and its slope match their float64 definitions and a central difference', () => {
    for (const v of [0, -1, 1e-6, 0.02, 0.45, 66]) {
      expect(powerFeature(power, v)).toBe(Math.pow(Math.max(v, 0) + 0.001, 0.25));
      if (v <= 0) expect(powerSlope(power, v)).toBe(0);
      else {
        const h = v * 1e-5;
        const fd = (powerFeature(power, v + h) - powerFeature(power, v - h)) / (2 * h);
        expect(Math.abs(powerSlope(power, v) - fd)).toBeLessThan(1e-6 * Math.abs(fd));
      }
    }
  });

  it('whitens the powered rows: the same as a whitening fitted on p(x) and applied to p(x), alike on TF.js and in JavaScript', async () => {
    const wp = await fitWhitening(x, count, dim, { shrinkage: 0.02, power });
    const px = powerRows(power, x);
    const plain = await fitWhitening(px, count, dim, { shrinkage: 0.02 });
    expect(wp.power).toEqual(power);
    expect(Array.from(wp.mean)).toEqual(Array.from(plain.mean));
    expect(Array.from(wp.matrix)).toEqual(Array.from(plain.matrix));
    const a = whitenRowsJs(wp, x, count);
    const b = whitenRowsJs(plain, px, count);
    const c = await whitenRows(wp, x, count);
    const big = Math.max(...b.map(Math.abs));
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-6 * big);
    expect(Math.max(...c.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-5 * big);
  });

  it("input gradient on the host kernels equals TF.js's autodiff through power, whitening and blocks, 1e-5 relative; 0 where a feature is <= 0", async () => {
    const w = await fitWhitening(x, count, dim, { shrinkage: 0.02, power });
    const flow = Flow.random(cfg, 3, { whitening: w });
    const host = await HostFlow.create(flow.config, 1, { helpers: 0 }, undefined, true);
    host.load(await flow.toStateDict());
    let clamped = 0;
    for (let r = 0; r < 4; r++) {
      const row = x.slice(r * dim, (r + 1) * dim);
      const a = hostFlowGradient(host, flow, row);
      const b = flowGradient(flow, row).grad;
      const big = Math.max(...b.map(Math.abs));
      expect(big).toBeGreaterThan(0);
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-5 * big);
      row.forEach((v, i) => {
        if (v <= 0) {
          clamped++;
          expect(Math.abs(a[i])).toBe(0);
          expect(Math.abs(b[i])).toBe(0);
        }
      });
    }
    expect(clamped).toBeGreaterThan(0);
    host.dispose();
    flow.dispose();
  });

  it('whitenGradientJs is (g W) times the power\'s slope, in float64', async () => {
    const w = await fitWhitening(x, count, dim, { shrinkage: 0.02, power });
    const g = Float32Array.from({ length: dim }, (_, i) => Math.sin(i + 1));
    const row = x.slice(dim, 2 * dim);
    const got = whitenGradientJs(w, g, row);
    for (let k = 0; k < dim; k++) {
      let t = 0;
      for (let i = k; i < dim; i++) t += g[i] * w.matrix[i * dim + k];
      expect(got[k]).toBeCloseTo(Math.fround(t * powerSlope(power, row[k])), 5);
    }
  });

  it('round-trips through a state dict with identical scores; a bad power is refused', async () => {
    const w = await fitWhitening(x, count, dim, { shrinkage: 0.02, power });
    const flow = Flow.random(cfg, 2, { whitening: w });
    const sd = await flow.toStateDict();
    expect(Array.from(sd.get('whiten.power')!.data)).toEqual([0.25, Math.fround(0.001)]);
    const back = Flow.fromStateDict(sd);
    expect(Array.from(await scoreFeatureRows(back, x, dim, 1))).toEqual(Array.from(await scoreFeatureRows(flow, x, dim, 1)));
    // Without its power the same flow scores other numbers: the power is not decoration.
    const without = new Map(sd);
    without.delete('whiten.power');
    const bare = Flow.fromStateDict(without);
    expect(Array.from(await scoreFeatureRows(bare, x, dim, 1))).not.toEqual(Array.from(await scoreFeatureRows(flow, x, dim, 1)));
    for (const [data, why] of [
      [[0, 0.001], /exponent 0/],
      [[1.5, 0.001], /exponent 1.5/],
      [[0.25, 0], /offset 0/],
      [[Number.NaN, 0.001], /exponent NaN/],
    ] as const) {
      const bad = new Map(sd);
      bad.set('whiten.power', { shape: [2], data: Float32Array.from(data) });
      expect(() => Flow.fromStateDict(bad)).toThrow(why);
    }
    const shaped = new Map(sd);
    shaped.set('whiten.power', { shape: [3], data: new Float32Array(3).fill(0.5) });
    expect(() => Flow.fromStateDict(shaped)).toThrow(/expected \[2\]/);
    for (const f of [flow, back, bare]) f.dispose();
  });
});
