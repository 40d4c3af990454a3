import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random';
import { calibrate, CalibrationError, conformalThreshold, normaliseCalibration, recalibrate, singleImageThresholdNote, type Calibration } from './calibration';
import { atThreshold, bestF1Threshold, evaluationReport, logHistogram, nearestCut, thresholdCuts } from './evaluation';
import { aboveGood, fullColourShare, heatPosition, mapScaleFromGood, mapSpan, outline } from './heatScale';
import { heldOutCount, holdoutSplit } from './holdout';
import { DISPLAY_THRESHOLD, displayScale, displayScore, formatDisplayScore, formatRawScore, judge, verdictOf } from './verdict';

const scale = { mapLow: 0, mapHigh: 1 };

describe('conformalThreshold (split-conformal order statistic)', () => {
  it('takes the k-th smallest score, k = ceil((n + 1)(1 - rate)), and the midpoint to the next', () => {
    const scores = Array.from({ length: 99 }, (_, i) => i + 1); // 1..99
    const c = conformalThreshold(scores, 0.05);
    // k = ceil(100 * 0.95) = 95: between s(95) = 95 and s(96) = 96.
    expect(c.threshold).toBe(95.5);
    expect(c.guarantee).toEqual({ requested: 0.05, bound: 5 / 100, minRate: 1 / 100, supported: true });
    // It flags exactly the 4 scores above s(95) here: fewer than rate * n, never more.
    expect(scores.filter((s) => s >= c.threshold).length).toBe(4);
  });

  it('keeps its promise on new draws from the same distribution (mean false-alarm rate <= the rate)', () => {
    const rand = seededRandom(3);
    const draw = (n: number) => Array.from({ length: n }, () => Math.exp(rand() * 3));
    let flagged = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      const { threshold } = conformalThreshold(draw(40), 0.1);
      flagged += draw(50).filter((s) => s >= threshold).length;
    }
    const rate = flagged / (trials * 50);
    // k = 37: the bound (n + 1 - k) / (n + 1) = 4 / 41 = 0.098; the midpoint threshold gives up about half a
    // gap more, 3.5 / 41 = 0.085. Over 400 calibration sets the standard error is about 0.0025.
    expect(rate).toBeLessThan(4 / 41 + 0.008);
    expect(rate).toBeGreaterThan(3.5 / 41 - 0.01);
  });

  it('refuses a rate the sample cannot support, says which rate it does, and sits above every score', () => {
    const c = conformalThreshold([3, 1, 2], 0.05);
    expect(c.guarantee.supported).toBe(false);
    expect(c.guarantee.minRate).toBe(0.25);
    expect(c.guarantee.bound).toBe(0.25);
    expect(c.threshold).toBeGreaterThan(3);
    expect(verdictOf(3, c.threshold)).toBe('ok');
    // 19 scores support exactly 5 %.
    expect(conformalThreshold(Array.from({ length: 19 }, (_, i) => i), 0.05).guarantee.supported).toBe(true);
    expect(conformalThreshold(Array.from({ length: 18 }, (_, i) => i), 0.05).guarantee.supported).toBe(false);
  });

  it('rejects rates outside (0, 1) and an empty set', () => {
    expect(() => conformalThreshold([1, 2], 0)).toThrow(CalibrationError);
    expect(() => conformalThreshold([1, 2], 1)).toThrow(CalibrationError);
    expect(() => conformalThreshold([], 0.1)).toThrow(/at least one good image/);
  });
});

describe('calibrate / recalibrate', () => {
  const held = Array.from({ length: 40 }, (_, i) => 1 + i / 10);
  it('keeps the sorted held-out scores and the guarantee; a new rate needs no engine', () => {
    const c = calibrate({ goodScores: [...held].reverse(), source: 'held-out', mapScale: scale }, { kind: 'false-alarm-rate', rate: 0.05 });
    expect(c.goodScores).toEqual(held);
    expect(c.good.n).toBe(40);
    expect(c.guarantee?.supported).toBe(true);
    const r = recalibrate(c, { kind: 'false-alarm-rate', rate: 0.2 });
    expect(r.threshold).toBeLessThan(c.threshold);
    expect(r.threshold).toBe(conformalThreshold(held, 0.2).threshold);
  });

  it('makes no promise from training images', () => {
    const c = calibrate({ goodScores: held, source: 'training', mapScale: scale }, { kind: 'false-alarm-rate', rate: 0.05 });
    expect(c.guarantee).toBeNull();
  });

  it('reads a version-1 calibration (no evidence) and refuses to re-threshold it from nothing', () => {
    const old = { threshold: 2, method: { kind: 'percentile', percentile: 99 }, good: { n: 10, mean: 1, std: 0.1, min: 0.8, max: 1.3 }, mapLow: 0, mapHigh: 2 } as const;
    const c = normaliseCalibration(old as never) as Calibration;
    expect(c.source).toBe('training');
    expect(c.good.median).toBe(1);
    expect(() => recalibrate(c, { kind: 'false-alarm-rate', rate: 0.1 })).toThrow(/older version/);
    expect(recalibrate(c, { kind: 'manual', threshold: 5 }).threshold).toBe(5);
  });
});

describe('displayScore', () => {
  const cal = { threshold: 8, good: { n: 10, mean: 2, std: 1, min: 1, max: 9, median: 2 } };
  const s = displayScale(cal);
  it('is 0.5 at the threshold and 0.25 at the good median', () => {
    expect(displayScore(8, s)).toBeCloseTo(0.5, 12);
    expect(displayScore(2, s)).toBeCloseTo(0.25, 12);
  });
  it('is bounded and finite on 0, 1e-300, 1e12, 7.7e11 and Infinity', () => {
    for (const v of [0, 1e-300, 1e12, 7.7e11, Infinity, Number.MAX_VALUE]) {
      const d = displayScore(v, s);
      expect(Number.isFinite(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(1);
    }
    expect(displayScore(0, s)).toBe(0);
  });
  it('is monotone in the raw score over twelve decades', () => {
    let prev = -1;
    for (let e = -3; e <= 12; e += 0.01) {
      const d = displayScore(10 ** e, s);
      expect(d).toBeGreaterThanOrEqual(prev);
      prev = d;
    }
  });
  it('gives the same verdict as the raw rule, including at the threshold itself', () => {
    for (const v of [7.999999, 8, 8.000001, 1e11]) expect(judge(v, cal).verdict).toBe(v >= 8 ? 'defect' : 'ok');
    expect(judge(8, cal).display).toBe(0.5);
  });
  it('formats without rounding an OK score up to the threshold or float noise', () => {
    expect(formatDisplayScore(0.49996)).toBe('0.499');
    expect(formatDisplayScore(0.99999)).toBe('>0.999');
    expect(formatDisplayScore(0.1234567)).toBe('0.123');
    expect(formatRawScore(390597083136)).toBe('3.91e+11');
    expect(formatRawScore(1.9796749999999301)).toBe('1.98');
  });
  it('never shows an OK image at 0.500 nor a DEFECT below it, even one float under the threshold', () => {
    // The calibration puts the threshold on the next float above the highest held-out score: same logarithm.
    const t = 6.347461223602295;
    const justBelow = t - t * Number.EPSILON;
    expect(justBelow).toBeLessThan(t);
    const c = { threshold: t, good: { n: 3, mean: 5.7, std: 0.5, min: 5.2, max: justBelow, median: 5.7 } };
    const below = judge(justBelow, c);
    expect(below.verdict).toBe('ok');
    expect(below.display).toBeLessThan(DISPLAY_THRESHOLD);
    expect(formatDisplayScore(below.display)).toBe('0.499');
    expect(formatDisplayScore(judge(t, c).display)).toBe('0.500');
    // The verdict wins over a number computed on another scale.
    expect(formatDisplayScore(0.5, 'ok')).toBe('0.499');
    expect(formatDisplayScore(0.4999, 'defect')).toBe('0.500');
    expect(formatDisplayScore(0.73, 'defect')).toBe('0.730');
    // Over a sweep around the threshold the text and the verdict never disagree.
    for (let i = -2000; i <= 2000; i++) {
      const raw = t * (1 + i * 1e-7);
      const j = judge(raw, c);
      const shown = Number(formatDisplayScore(j.display));
      expect(shown >= DISPLAY_THRESHOLD, `raw ${raw}`).toBe(j.verdict === 'defect');
    }
  });
});

describe('holdoutSplit', () => {
  it('holds out a fifth, disjoint, covering every image, the same for the same seed', () => {
    const a = holdoutSplit(761, 0);
    expect(a.heldOut.length).toBe(152);
    expect(new Set([...a.train, ...a.heldOut]).size).toBe(761);
    expect(holdoutSplit(761, 0)).toEqual(a);
    expect(holdoutSplit(761, 1).heldOut).not.toEqual(a.heldOut);
    // Not one stretch of the list: held-out images spread over it.
    expect(a.heldOut.filter((i) => i < 380).length).toBeGreaterThan(50);
  });
  it('holds out nothing below five images and caps large sets', () => {
    expect(heldOutCount(4)).toBe(0);
    expect(heldOutCount(5)).toBe(1);
    expect(heldOutCount(16)).toBe(3);
    expect(heldOutCount(100_000)).toBe(250);
  });
});

describe('heat scale', () => {
  const sc = { low: 1, high: 2 };
  it('keeps good values in the lower half and log-compresses above', () => {
    const span = { floor: 2, peak: 2e6 };
    expect(heatPosition(1, sc, span)).toBe(0);
    expect(heatPosition(2, sc, span)).toBe(0.5);
    expect(heatPosition(1.5, sc, span)).toBe(0.25);
    // Peak 2e6 (six decades above): the peak is full colour, one decade above the good top is 1/12 up the upper half.
    expect(heatPosition(2e6, sc, span)).toBeCloseTo(1, 12);
    expect(heatPosition(20, sc, span)).toBeCloseTo(0.5 + 0.5 / 6, 12);
    // A map barely above the good range stays dim: the upper half spans at least a decade.
    expect(heatPosition(4, sc, { floor: 2, peak: 4 })).toBeCloseTo(0.5 + (0.5 * Math.log10(2)) / 1, 12);
  });
  it('a good map keeps its floor at the good top; one mostly beyond it starts the ramp at its median', () => {
    const good = Float32Array.from({ length: 1000 }, (_, i) => (2 * i) / 1000);
    expect(mapSpan(good, sc)).toEqual({ floor: 2, peak: Math.fround(1.998) });
    const hot = Float32Array.from({ length: 1000 }, (_, i) => 1e15 * (1 + i));
    expect(mapSpan(hot, sc).floor).toBe(Math.fround(1e15 * 500));
  });
  it('does not wash a strongly anomalous map out, as MTD\'s strongest break did', () => {
    // Like the break: every pixel 1e15-1e18 times the good top, a 2 % region at 1e20.
    const rand = seededRandom(1);
    const map = Float32Array.from({ length: 10_000 }, () => 2 * 10 ** (15 + 3 * rand()));
    for (let i = 0; i < 200; i++) map[i] = 2e20;
    const share = fullColourShare(map, sc);
    expect(share).toBeGreaterThanOrEqual(0.02);
    expect(share).toBeLessThan(0.04);
    // A ramp from the good top instead would put every pixel in the top fifth of the colours.
    const fromGoodTop = Array.from(map).filter((v) => heatPosition(v, sc, { floor: 2, peak: 2e20 }) >= 0.85).length / map.length;
    expect(fromGoodTop).toBe(1);
    // And the old linear scale (full colour at twice the good maximum) colours all of it.
    expect(map.filter((v) => v >= 2 * 2).length / map.length).toBe(1);
  });
  it('sets the scale from good maps and outlines the region above every good pixel', () => {
    const good = [Float32Array.from({ length: 1000 }, (_, i) => i / 1000)];
    const s = mapScaleFromGood(good);
    expect(s.mapHigh).toBeCloseTo(0.999, 6);
    expect(s.mapLow).toBeCloseTo(0.98901, 4);
    const w = 5;
    const m = new Float32Array(25);
    for (const i of [6, 7, 8, 11, 12, 13, 16, 17, 18]) m[i] = 5; // a 3x3 block
    const o = outline(aboveGood(m, { low: s.mapLow, high: s.mapHigh }), w, 5);
    expect(Array.from(o).reduce((a, b) => a + b, 0)).toBe(8); // the ring, not the centre
    expect(o[12]).toBe(0);
  });
});

describe('evaluationReport', () => {
  const items = [
    { score: 1, label: 0 as const, defect: 'good' },
    { score: 2, label: 0 as const, defect: 'good' },
    { score: 5, label: 0 as const, defect: 'good' },
    { score: 3, label: 1 as const, defect: 'crack' },
    { score: 9, label: 1 as const, defect: 'crack' },
    { score: 8, label: 1 as const, defect: 'hole' },
    { score: NaN, label: 1 as const, defect: 'hole' },
  ];
  it('reports AUROC, per-defect numbers and the confusion at the model threshold, unscored items apart', () => {
    const r = evaluationReport(items, 4);
    expect(r.unscored).toBe(1);
    // Pairs (defect > good): 3>1,3>2 ; 9>all ; 8>all = 2 + 3 + 3 = 8 of 9.
    expect(r.imageAuroc).toBeCloseTo(8 / 9, 12);
    expect(r.perDefect.crack).toEqual({ n: 2, auroc: 5 / 6, recall: 0.5 });
    expect(r.perDefect.hole).toEqual({ n: 1, auroc: 1, recall: 1 });
    expect(r.atThreshold).toMatchObject({ tp: 2, fp: 1, tn: 2, fn: 1, falseAlarmRate: 1 / 3, recall: 2 / 3 });
  });
  it('bestF1Threshold cuts where F1 is best over the finite scores, and has no cut without both classes', () => {
    // Over the six finite scores, F1 = 2tp / (tp + fp + 3): >= 9 gives 1/2, >= 8 4/5, >= 5 2/3, >= 3 6/7 (all
    // three defects, one false alarm), >= 2 3/4. The unscored defect counts nowhere.
    const t = bestF1Threshold(items)!;
    const flagged = items.filter((it) => it.score >= t);
    expect(flagged.map((it) => it.score).sort((a, b) => a - b)).toEqual([3, 5, 8, 9]);
    expect(bestF1Threshold(items.filter((it) => it.label === 0))).toBeNull();
    expect(bestF1Threshold([items[0], items[6]])).toBeNull();
    expect(bestF1Threshold([])).toBeNull();
  });
  it('atThreshold gives NaN rates for an absent class rather than a made-up number', () => {
    const a = atThreshold([1, 2], [0, 0], 1.5);
    expect(a.falseAlarmRate).toBe(0.5);
    expect(Number.isNaN(a.recall)).toBe(true);
  });
  it('threshold cuts reach every split, however wide the spread, and the log histogram spreads decades', () => {
    const scores = [0.9, 1.1, 1.3, 4e3, 7.7e11];
    const cuts = thresholdCuts(scores);
    expect(cuts.length).toBe(6);
    const flagged = cuts.map((c) => scores.filter((s) => s >= c).length);
    expect(flagged).toEqual([5, 4, 3, 2, 1, 0]);
    expect(nearestCut(cuts, 1.2)).toBe(2);
    const h = logHistogram(scores, [0, 0, 0, 1, 1], 12);
    expect(h[0].good).toBe(3);
    expect(h.at(-1)!.defect).toBe(1);
    expect(h.filter((b) => b.good + b.defect > 0).length).toBe(3);
  });
});

describe('singleImageThresholdNote', () => {
  it('speaks up when the threshold rests on the single highest held-out score, and names it against the median', () => {
    // 3 images cannot support 5 %: the threshold goes just above the largest, 104.6.
    const few = calibrate({ goodScores: [1.2, 1.725, 104.6], source: 'held-out', mapScale: scale }, { kind: 'false-alarm-rate', rate: 0.05 });
    const note = singleImageThresholdNote(few);
    expect(note).toMatch(/single image sets this threshold/);
    expect(note).toMatch(/raw 104\.6, 61 times their median of 1\.725/);
  });

  it('stays quiet when the threshold lies between two held-out scores, or was not set from held-out images', () => {
    const many = calibrate({ goodScores: Array.from({ length: 99 }, (_, i) => i + 1), source: 'held-out', mapScale: scale }, { kind: 'false-alarm-rate', rate: 0.05 });
    expect(singleImageThresholdNote(many)).toBeNull();
    const few = calibrate({ goodScores: [1, 2, 3], source: 'held-out', mapScale: scale }, { kind: 'false-alarm-rate', rate: 0.05 });
    expect(singleImageThresholdNote(recalibrate(few, { kind: 'manual', threshold: 5 }))).toBeNull();
  });
});
