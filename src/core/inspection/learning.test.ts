import { describe, expect, it } from 'vitest';
import { calibrate, conformalThreshold, recalibrate, versionLabel, type Calibration } from './calibration';
import { compareVersions, mayHaveTrainedOn, nextVersion, recalibrateWithGood, untrainedGood } from './learning';

const mapScale = { mapLow: 0.1, mapHigh: 0.9 };
// 39 held-out scores 1..39: at 5 % k = ceil(40 * 0.95) = 38, so the threshold sits between 38 and 39.
const heldOut = Array.from({ length: 39 }, (_, i) => i + 1);
const trained = calibrate({ goodScores: heldOut, source: 'held-out', mapScale }, { kind: 'false-alarm-rate', rate: 0.05 });

describe('recalibrateWithGood', () => {
  it('applies the training rule (split-conformal at the model\'s rate) to the held-out scores plus the new ones', () => {
    const next = recalibrateWithGood(trained, [100]);
    // A recalibration is part of the version's name: v1 → v1.1 → v1.2; a training's own threshold is plain v1.
    expect([trained.revision, next.revision, recalibrateWithGood(next, [101]).revision]).toEqual([undefined, 1, 2]);
    expect([versionLabel(1, trained.revision), versionLabel(1, next.revision), versionLabel(3, 2)]).toEqual(['v1', 'v1.1', 'v3.2']);
    const expected = conformalThreshold([...heldOut, 100], 0.05);
    expect(next.threshold).toBe(expected.threshold);
    // A confirmed false alarm at 100 moves the threshold from between 38 and 39 to between 39 and 100 (k = 39 of 40).
    expect(trained.threshold).toBeGreaterThan(38);
    expect(trained.threshold).toBeLessThan(39);
    expect(next.threshold).toBeGreaterThan(39);
    expect(next.threshold).toBeLessThan(100);
    expect(next.goodScores).toEqual([...heldOut, 100]);
    expect(next.good.n).toBe(40);
    expect(next.guarantee).toMatchObject({ requested: 0.05, supported: true });
    expect(next.source).toBe('held-out');
    expect({ mapLow: next.mapLow, mapHigh: next.mapHigh }).toEqual(mapScale);
  });

  it('uses the default rate when the threshold had been set by hand or by best F1', () => {
    const manual = recalibrate(trained, { kind: 'manual', threshold: 3 });
    const next = recalibrateWithGood(manual, [25]);
    expect(next.method).toEqual({ kind: 'false-alarm-rate', rate: 0.05 });
    expect(next.threshold).toBe(conformalThreshold([...heldOut, 25], 0.05).threshold);
  });

  it('keeps the model\'s own rate', () => {
    const tenPct = recalibrate(trained, { kind: 'false-alarm-rate', rate: 0.1 });
    expect(recalibrateWithGood(tenPct, [30]).threshold).toBe(conformalThreshold([...heldOut, 30], 0.1).threshold);
  });

  it('refuses what the rule cannot use, saying why', () => {
    const fromTraining: Calibration = { ...trained, source: 'training' };
    expect(() => recalibrateWithGood(fromTraining, [3])).toThrow(/training images.*retrain/);
    expect(() => recalibrateWithGood({ ...trained, goodScores: [] }, [3])).toThrow(/older version.*retrain/);
    expect(() => recalibrateWithGood(trained, [])).toThrow(/no new good images/);
    expect(() => recalibrateWithGood(trained, [Number.NaN])).toThrow(/no usable score/);
  });
});

describe('which good images compare versions fairly', () => {
  const images = [
    { id: 'a', addedAt: 10 },
    { id: 'b', addedAt: 20 },
    { id: 'c', addedAt: 30 },
    { id: 'd', addedAt: 40 },
  ];

  it('keeps only the images no version trained on', () => {
    const v1 = { trainedOn: ['a', 'b'], trainedAt: 25 };
    const v2 = { trainedOn: ['a', 'c'], trainedAt: 35 };
    expect(untrainedGood(images, [v1, v2]).map((i) => i.id)).toEqual(['d']);
    expect(untrainedGood(images, [v1]).map((i) => i.id)).toEqual(['c', 'd']);
  });

  it('counts every image added before an older version (no list kept) as trained on', () => {
    const legacy = { trainedOn: null, trainedAt: 25 };
    expect(mayHaveTrainedOn(legacy, images[1])).toBe(true);
    expect(mayHaveTrainedOn(legacy, images[2])).toBe(false);
    expect(untrainedGood(images, [legacy, { trainedOn: ['c'], trainedAt: 35 }]).map((i) => i.id)).toEqual(['d']);
  });
});

describe('version numbers', () => {
  it('go past every version ever saved, so rolling back and retraining never reuses one', () => {
    expect(nextVersion(0, [])).toBe(1);
    expect(nextVersion(2, [1, 2])).toBe(3);
    // Rolled back from v3 to v1: the next training is v4.
    expect(nextVersion(1, [1, 2, 3])).toBe(4);
  });
});

describe('compareVersions', () => {
  it('gives each version its AUROC and its false alarms and recall at its own threshold', () => {
    const labels: (0 | 1)[] = [0, 0, 0, 0, 1, 1];
    const [a, b] = compareVersions(labels, [
      // v1 mixes one defect among the good ones; its threshold 3.5 flags one good image and one defect.
      { version: 1, scores: [1, 2, 3, 4, 2.5, 9], threshold: 3.5 },
      // v2 separates them; its threshold 5 flags both defects and no good image.
      { version: 2, scores: [1, 2, 3, 4, 6, 9], threshold: 5 },
    ]);
    expect(a.report.imageAuroc).toBeCloseTo(6 / 8, 12);
    expect(a.report.atThreshold).toMatchObject({ fp: 1, tn: 3, tp: 1, fn: 1, falseAlarmRate: 0.25, recall: 0.5 });
    expect(b.report.imageAuroc).toBe(1);
    expect(b.report.atThreshold).toMatchObject({ fp: 0, tp: 2, falseAlarmRate: 0, recall: 1 });
    expect([a.threshold, b.threshold]).toEqual([3.5, 5]);
  });

  it('leaves the numbers at a threshold out for a version without one, and refuses mismatched scores', () => {
    const [r] = compareVersions([0, 1], [{ version: 1, scores: [1, 2], threshold: null }]);
    expect(r.report.atThreshold).toBeNull();
    expect(r.report.imageAuroc).toBe(1);
    expect(() => compareVersions([0, 1], [{ version: 1, scores: [1], threshold: 1 }])).toThrow(/scored 1 of 2/);
  });
});
