import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random';
import { auroc, downsampleRoc, pixelAuroc, rocCurve, type RocCurve } from '.';

/** O(n^2) definition: the fraction of (defect, good) pairs ranked right, ties counting 1/2. */
function bruteAuroc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i] > scores[j]) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

function trapezoid(c: RocCurve): number {
  let a = 0;
  for (let i = 1; i < c.fpr.length; i++) a += ((c.fpr[i] - c.fpr[i - 1]) * (c.tpr[i] + c.tpr[i - 1])) / 2;
  return a;
}

function randomCase(n: number, seed: number, decimals: number | null) {
  const r = seededRandom(seed);
  const labels = Array.from({ length: n }, () => (r() < 0.4 ? 1 : 0) as 0 | 1);
  // Defects score higher on average; rounding creates many ties across and within classes.
  const scores = labels.map((l) => {
    const v = r() + 0.3 * l;
    return decimals === null ? v : Math.round(v * 10 ** decimals) / 10 ** decimals;
  });
  return { scores, labels };
}

describe('auroc', () => {
  it('hand-computed cases', () => {
    // Pairs (0.35, 0.1) and (0.8, both) are ranked right, (0.35, 0.4) wrong: 3 of 4.
    expect(auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    // Defect 0.5 ties good 0.5 (1/2) and beats 0.2; defect 0.9 beats both: 3.5 of 4.
    expect(auroc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1])).toBe(0.875);
    expect(auroc([1, 1, 1, 1], [0, 1, 0, 1])).toBe(0.5);
    expect(auroc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(auroc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])).toBe(0);
  });

  it('equals the brute-force pair count on random cases, with and without ties', () => {
    for (const [seed, decimals] of [
      [1, null],
      [2, 1],
      [3, 2],
    ] as const) {
      const { scores, labels } = randomCase(200, seed, decimals);
      const expected = bruteAuroc(scores, labels);
      expect(auroc(scores, labels)).toBeCloseTo(expected, 12);
      expect(auroc(Float32Array.from(scores), labels)).toBeCloseTo(bruteAuroc(Float32Array.from(scores), labels), 12);
    }
  });

  it('refuses unusable input with a clear message', () => {
    expect(() => auroc([0.1, 0.2], [0, 0])).toThrow(/both classes.*0 defective and 2 good/);
    expect(() => auroc([0.1, 0.2], [1, 1])).toThrow(/both classes/);
    expect(() => auroc([0.1, 0.2], [0])).toThrow(/differ in length/);
    expect(() => auroc([0.1, NaN], [0, 1])).toThrow(/scores\[1\] is NaN/);
    expect(() => auroc([0.1, 0.2], [0, 2 as 1])).toThrow(/labels\[1\]/);
  });
});

describe('rocCurve', () => {
  it('one point per distinct threshold from (0, 0) at +Infinity, as sklearn without drop_intermediate', () => {
    expect(rocCurve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toEqual({
      fpr: [0, 0, 0.5, 0.5, 1],
      tpr: [0, 0.5, 0.5, 1, 1],
      thresholds: [Infinity, 0.8, 0.4, 0.35, 0.1],
    });
    // Tied scores of both classes form a single diagonal step.
    expect(rocCurve([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1])).toEqual({
      fpr: [0, 0, 0.5, 1],
      tpr: [0, 0.5, 1, 1],
      thresholds: [Infinity, 0.9, 0.5, 0.2],
    });
  });

  it('has the area of auroc', () => {
    const { scores, labels } = randomCase(500, 4, 2);
    const curve = rocCurve(scores, labels);
    expect(trapezoid(curve)).toBeCloseTo(auroc(scores, labels), 12);
    expect(curve.fpr.at(-1)).toBe(1);
    expect(curve.tpr.at(-1)).toBe(1);
  });

  it('downsampleRoc keeps both ends, at most maxPoints, and the shape', () => {
    const { scores, labels } = randomCase(20_000, 5, null);
    const full = rocCurve(scores, labels);
    const small = downsampleRoc(full, 50);
    expect(small.fpr.length).toBeLessThanOrEqual(50);
    expect(small.fpr.length).toBeGreaterThan(40);
    expect([small.fpr[0], small.tpr[0], small.thresholds[0]]).toEqual([0, 0, Infinity]);
    expect([small.fpr.at(-1), small.tpr.at(-1)]).toEqual([1, 1]);
    expect(Math.abs(trapezoid(small) - trapezoid(full))).toBeLessThan(0.01);
    expect(downsampleRoc(full, 2).fpr).toEqual([0, 1]);
    const tiny = rocCurve([0.1, 0.9], [0, 1]);
    expect(downsampleRoc(tiny, 10)).toEqual(tiny);
  });
});

describe('pixelAuroc', () => {
  it('pools all pixels; a mask pixel > 0 is defective (0/1 and 0/255 masks alike)', () => {
    const maps = [Float32Array.from([0.1, 0.9, 0.2, 0.3]), Float32Array.from([0.25, 0.8, 0.05])];
    const masks01 = [Uint8Array.from([0, 1, 0, 1]), Uint8Array.from([0, 1, 0])];
    const masks255 = masks01.map((m) => m.map((v) => v * 255));
    const pooled = Float32Array.from([...maps[0], ...maps[1]]);
    const labels = [...masks01[0], ...masks01[1]];
    const expected = bruteAuroc(pooled, labels);
    expect(pixelAuroc(maps, masks01)).toBeCloseTo(expected, 12);
    expect(pixelAuroc(maps, masks255)).toBeCloseTo(expected, 12);
  });

  it('refuses mismatched or one-class input', () => {
    const map = Float32Array.from([0.1, 0.2]);
    expect(() => pixelAuroc([map], [])).toThrow(/1 maps but 0 masks/);
    expect(() => pixelAuroc([map], [new Uint8Array(3)])).toThrow(/image 0/);
    expect(() => pixelAuroc([map], [new Uint8Array(2)])).toThrow(/both classes/);
  });

  it('handles millions of pixels', () => {
    const r = seededRandom(7);
    const side = 512;
    const maps: Float32Array[] = [];
    const masks: Uint8Array[] = [];
    for (let k = 0; k < 8; k++) {
      const m = new Float32Array(side * side);
      const mk = new Uint8Array(side * side);
      for (let i = 0; i < m.length; i++) {
        mk[i] = r() < 0.05 ? 1 : 0;
        // Quantised values: heavy ties, as in real maps with flat regions.
        m[i] = Math.round((r() + 0.5 * mk[i]) * 256) / 256;
      }
      maps.push(m);
      masks.push(mk);
    }
    const a = pixelAuroc(maps, masks);
    // Uniform + 0.5 shift vs uniform: AUROC = 1 - 0.5^2 / 2 = 0.875, up to quantisation and sampling.
    expect(a).toBeGreaterThan(0.86);
    expect(a).toBeLessThan(0.89);
    // Exactly, from a count per quantisation level (values are k / 256): each defective pixel beats the
    // good ones on lower levels and ties those on its own.
    const pos = new Float64Array(400);
    const neg = new Float64Array(400);
    maps.forEach((m, k) => m.forEach((v, i) => (masks[k][i] ? pos : neg)[Math.round(v * 256)]++));
    let u = 0;
    let negBelow = 0;
    let nPos = 0;
    for (let level = 0; level < 400; level++) {
      u += pos[level] * (negBelow + neg[level] / 2);
      negBelow += neg[level];
      nPos += pos[level];
    }
    expect(nPos + negBelow).toBe(8 * side * side);
    expect(a).toBeCloseTo(u / (nPos * negBelow), 12);
  });
});
