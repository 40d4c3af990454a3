import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random';
import { confusion, f1MaxThreshold, percentileThreshold, scoreStats, thresholdForFalseAlarmRate } from '.';
import { nextUp, splitBetween } from './threshold';

describe('f1MaxThreshold', () => {
  it('hand-computed case', () => {
    // Cuts from the top (P = 2): 0.8 -> F1 2/3, 0.4 -> 1/2, 0.35 -> tp 2 fp 1 -> 4/5, 0.1 -> 2/3.
    const r = f1MaxThreshold([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]);
    expect(r.f1).toBeCloseTo(0.8, 15);
    expect(r.precision).toBeCloseTo(2 / 3, 15);
    expect(r.recall).toBe(1);
    // Midway between the lowest flagged score (0.35) and the next lower one (0.1).
    expect(r.threshold).toBeCloseTo(0.225, 15);
    expect(confusion([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], r.threshold)).toEqual({ tp: 2, fp: 1, tn: 1, fn: 0 });
  });

  it('keeps the higher threshold on equal F1, and the lowest score when all are flagged', () => {
    // Cut at 4: tp 1 fp 0 -> 2/3; cut at 1: tp 2 fp 2 -> 4/6, the same F1.
    expect(f1MaxThreshold([4, 3, 2, 1], [1, 0, 0, 1])).toEqual({ threshold: 3.5, f1: 2 / 3, precision: 1, recall: 0.5 });
    expect(f1MaxThreshold([0.1, 0.2], [1, 1])).toEqual({ threshold: 0.1, f1: 1, precision: 1, recall: 1 });
    expect(() => f1MaxThreshold([0.1, 0.2], [0, 0])).toThrow(/defective/);
  });

  it('is the best over every threshold on a random case with ties', () => {
    const r = seededRandom(11);
    const labels = Array.from({ length: 300 }, () => (r() < 0.3 ? 1 : 0) as 0 | 1);
    const scores = labels.map((l) => Math.round((r() + 0.4 * l) * 20) / 20);
    const best = f1MaxThreshold(scores, labels);
    const f1At = (t: number) => {
      const c = confusion(scores, labels, t);
      return (2 * c.tp) / (2 * c.tp + c.fp + c.fn);
    };
    expect(f1At(best.threshold)).toBeCloseTo(best.f1, 15);
    for (const t of new Set(scores)) expect(f1At(t)).toBeLessThanOrEqual(best.f1 + 1e-15);
  });
});

describe('percentileThreshold', () => {
  it('equals numpy.percentile (linear) exactly', () => {
    const x = [3, 1, 4, 1, 5, 9, 2, 6];
    const numpy: [number, number][] = [
      [0, 1.0],
      [10, 1.0],
      [25, 1.75],
      [33.3, 2.3309999999999995],
      [50, 3.5],
      [90, 6.8999999999999995],
      [99, 8.79],
      [100, 9.0],
    ];
    for (const [p, v] of numpy) expect(percentileThreshold(x, p)).toBe(v);
    expect(percentileThreshold([0.1, 0.2, 0.3], 50)).toBe(0.2);
    expect(percentileThreshold([0.1, 0.2, 0.3], 70)).toBe(0.24);
    expect(percentileThreshold([7.5], 42)).toBe(7.5);
  });

  it('equals numpy on RandomState(1).random_sample(37)', () => {
    const r = seededRandom(1);
    const y = Array.from({ length: 37 }, () => r());
    expect(y.slice(0, 3)).toEqual([0.417022004702574, 0.7203244934421581, 0.00011437481734488664]);
    const numpy: [number, number][] = [
      [1, 0.009932733434354146],
      [5, 0.03672134522589112],
      [50, 0.41730480236712697],
      [95, 0.907263236833178],
      [99, 0.9645276393145951],
      [99.9, 0.9678881820789174],
    ];
    for (const [p, v] of numpy) expect(percentileThreshold(y, p)).toBe(v);
  });

  it('refuses empty sets and percentiles outside [0, 100]', () => {
    expect(() => percentileThreshold([], 50)).toThrow(/at least one/);
    expect(() => percentileThreshold([1], 101)).toThrow(RangeError);
    expect(() => percentileThreshold([1], -1)).toThrow(RangeError);
  });
});

describe('thresholdForFalseAlarmRate', () => {
  const goods = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const flagged = (scores: number[], t: number) => scores.filter((s) => s >= t).length;

  it('flags at most floor(rate * n) good scores, midway to the next one', () => {
    expect(thresholdForFalseAlarmRate(goods, 0.1)).toBe(9.5);
    expect(thresholdForFalseAlarmRate(goods, 0.25)).toBe(8.5);
    expect(thresholdForFalseAlarmRate(goods, 1)).toBe(1);
    const zero = thresholdForFalseAlarmRate(goods, 0);
    expect(zero).toBeGreaterThan(10);
    expect(zero).toBe(nextUp(10));
    const hundred = Array.from({ length: 100 }, (_, i) => i);
    expect(flagged(hundred, thresholdForFalseAlarmRate(hundred, 0.29))).toBe(29);
  });

  it('never exceeds the rate on ties', () => {
    const tied = [1, 2, 2, 2, 3];
    expect(thresholdForFalseAlarmRate(tied, 0.4)).toBe(2.5);
    expect(flagged(tied, thresholdForFalseAlarmRate(tied, 0.4))).toBe(1);
    expect(flagged([5, 5, 5], thresholdForFalseAlarmRate([5, 5, 5], 0.5))).toBe(0);
  });
});

describe('scoreStats and helpers', () => {
  it('matches numpy mean / std (ddof 0) / median', () => {
    const s = scoreStats([0.1, 0.4, 0.35, 0.8, 0.2, 0.2]);
    expect(s.n).toBe(6);
    expect(s.mean).toBeCloseTo(0.3416666666666666, 15);
    expect(s.std).toBeCloseTo(0.22806553639006683, 15);
    expect(s.median).toBeCloseTo(0.275, 15);
    expect([s.min, s.max]).toEqual([0.1, 0.8]);
    expect(scoreStats(Float32Array.from([2])).std).toBe(0);
    expect(scoreStats([])).toEqual({ n: 0, mean: NaN, std: NaN, min: NaN, max: NaN, median: NaN });
  });

  it('confusion counts score >= threshold as defect', () => {
    expect(confusion([0.1, 0.4, 0.35, 0.8], [false, false, true, true], 0.4)).toEqual({ tp: 1, fp: 1, tn: 1, fn: 1 });
  });

  it('splitBetween never lands on the lower score; nextUp is the next double', () => {
    expect(splitBetween(1, 3)).toBe(2);
    const a = 1;
    const b = nextUp(1);
    expect(b).toBe(1 + Number.EPSILON);
    expect(splitBetween(a, b)).toBe(b);
    expect(nextUp(0)).toBe(Number.MIN_VALUE);
    expect(nextUp(-1)).toBeGreaterThan(-1);
  });
});
