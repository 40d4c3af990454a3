import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random';
import { calibrate } from './calibration';
import { binomialUpperTail, driftCheck, DRIFT_MIN_PARTS, type RecentVerdict } from './drift';

describe('binomialUpperTail', () => {
  it('matches sums of the binomial probabilities', () => {
    // n = 4, p = 0.5: P(X >= 3) = (4 + 1) / 16.
    expect(binomialUpperTail(3, 4, 0.5)).toBeCloseTo(5 / 16, 12);
    // n = 10, p = 0.1: P(X >= 1) = 1 - 0.9^10.
    expect(binomialUpperTail(1, 10, 0.1)).toBeCloseTo(1 - 0.9 ** 10, 12);
    expect(binomialUpperTail(0, 10, 0.1)).toBe(1);
    expect(binomialUpperTail(11, 10, 0.1)).toBe(0);
    expect(binomialUpperTail(10, 10, 0.1)).toBeCloseTo(1e-10, 20);
  });

  it('stays finite and ordered for thousands of parts', () => {
    const a = binomialUpperTail(60, 1000, 0.05);
    const b = binomialUpperTail(80, 1000, 0.05);
    expect(a).toBeGreaterThan(b);
    expect(b).toBeGreaterThan(0);
    expect(b).toBeLessThan(1e-4);
  });

  it('refuses counts that are not whole numbers', () => {
    expect(() => binomialUpperTail(1.5, 10, 0.1)).toThrow(/whole counts/);
  });
});

// 99 held-out good scores 1..99 at 5 %: the threshold lies between 95 and 96 and promises at most 5 %.
const cal = calibrate({ goodScores: Array.from({ length: 99 }, (_, i) => i + 1), source: 'held-out', mapScale: { mapLow: 0, mapHigh: 1 } }, { kind: 'false-alarm-rate', rate: 0.05 });

function parts(scores: number[], person: (s: number) => RecentVerdict['person'] = (s) => (s >= cal.threshold ? 'OK' : undefined)): RecentVerdict[] {
  return scores.map((s) => ({ rawScore: s, flagged: s >= cal.threshold, person: person(s) }));
}

describe('driftCheck', () => {
  const rand = seededRandom(7);
  /** Good parts like the held-out ones: uniform on (0, 100). */
  const like = (n: number, shift = 0) => Array.from({ length: n }, () => rand() * 100 + shift);

  it('waits for enough good parts', () => {
    const r = driftCheck(cal, parts(like(DRIFT_MIN_PARTS - 1)));
    expect(r.status).toBe('too-few');
    expect(r.message).toMatch(/needs 20/);
  });

  it('sees no drift in parts like the held-out ones', () => {
    const r = driftCheck(cal, parts(like(200)));
    expect(r.status).toBe('ok');
    expect(r.falseAlarms!.p0).toBe(0.05);
    expect(r.falseAlarms!.pValue).toBeGreaterThan(0.01);
    expect(r.message).toMatch(/No drift seen in the last 200 good parts/);
  });

  it('says the false-alarm rate has drifted when many good parts are flagged, naming the test', () => {
    // Scores up by 30: about a third of good parts now pass the threshold of 95.5.
    const r = driftCheck(cal, parts(like(100, 30)));
    expect(r.status).toBe('drift');
    expect(r.falseAlarms!.k).toBeGreaterThan(20);
    expect(r.falseAlarms!.pValue).toBeLessThan(1e-6);
    expect(r.message).toMatch(/probably drifted: \d+ of the last 100 good parts were flagged .* at most 5\.0 % .*one-sided binomial test, p < 0\.001\). Recalibrate/);
  });

  it('warns of rising scores before the false alarms come', () => {
    // Up by 15 but capped below the threshold: no false alarm yet, yet most passed parts sit above the middle.
    const r = driftCheck(cal, parts(like(100).map((s) => Math.min(95, s + 15 + 20 * rand()))));
    expect(r.falseAlarms!.k).toBe(0);
    expect(r.status).toBe('watch');
    expect(r.creep!.p0).toBeCloseTo(0.5, 1);
    expect(r.message).toMatch(/Scores of good parts are rising/);
  });

  it('counts flagged parts only when a person said they are good, and leaves out parts a person called defects', () => {
    const scores = [...like(60), 99, 99, 99];
    // Nobody reviewed the three flagged parts: they may be defects, so they are not good parts.
    const unreviewed = driftCheck(cal, parts(scores, () => undefined));
    expect(unreviewed.goodParts).toBe(scores.filter((s) => s < cal.threshold).length);
    expect(unreviewed.falseAlarms!.k).toBe(0);
    // Confirmed false alarms count; a passed part a person called a defect (a miss) is no good part.
    const reviewed = driftCheck(cal, [...parts(scores), { rawScore: 10, flagged: false, person: 'DEFECT' }]);
    expect(reviewed.falseAlarms!.k).toBe(3 + scores.slice(0, 60).filter((s) => s >= cal.threshold).length);
    expect(reviewed.goodParts).toBe(scores.length);
  });

  it('keeps its level: on parts like the held-out ones it rarely cries drift', () => {
    let alarms = 0;
    for (let t = 0; t < 200; t++) if (driftCheck(cal, parts(like(100))).status !== 'ok') alarms++;
    // Two tests at 1 % each (the binomial is discrete, so each is at most 1 %): at most about 2 % of runs.
    expect(alarms / 200).toBeLessThan(0.05);
  });
});

describe('driftCheck on the flagged rate', () => {
  const rand = seededRandom(11);

  it('warns when every recent part is flagged and nobody reviewed one, naming both readings', () => {
    const recent: RecentVerdict[] = Array.from({ length: 22 }, () => ({ rawScore: 120 + rand() * 50, flagged: true }));
    const r = driftCheck(cal, recent);
    expect(r.goodParts).toBe(0);
    expect(r.status).toBe('watch');
    expect(r.headline).toBe('Watch: far more parts flagged than expected');
    expect(r.flagged).toMatchObject({ k: 22, n: 22, p0: 0.05 });
    expect(r.flagged!.pValue).toBeCloseTo(0.05 ** 22, 30);
    expect(r.message).toMatch(/22 of the last 22 parts were flagged \(100 %\), where the calibration expects at most 5\.0 %/);
    expect(r.message).toMatch(/many defects/);
    expect(r.message).toMatch(/drift/);
    expect(r.message).toMatch(/Check a few flagged parts: if they are good, recalibrate/);
  });

  it('stays quiet on a flagged rate the calibration allows, and waits below 20 parts', () => {
    // 1 of 25 flagged, 4 %, under the promised 5 %.
    const some: RecentVerdict[] = Array.from({ length: 25 }, (_, i) => ({ rawScore: i === 0 ? 99 : rand() * 90, flagged: i === 0 }));
    const ok = driftCheck(cal, some);
    expect(ok.flagged!.k).toBe(1);
    expect(ok.flagged!.pValue).toBeGreaterThan(0.01);
    expect(ok.status).toBe('ok');
    expect(ok.headline).toBe('No drift seen');
    const few = driftCheck(cal, Array.from({ length: DRIFT_MIN_PARTS - 1 }, () => ({ rawScore: 150, flagged: true })));
    expect(few.flagged).toBeNull();
    expect(few.status).toBe('too-few');
  });

  it('lets confirmed false alarms win: drift when flagged parts were marked good', () => {
    const recent: RecentVerdict[] = Array.from({ length: 30 }, () => ({ rawScore: 150, flagged: true, person: 'OK' as const }));
    const r = driftCheck(cal, recent);
    expect(r.status).toBe('drift');
    expect(r.headline).toBe('Probable drift');
  });

  it('has no flagged-rate test without a false-alarm promise', () => {
    const manual = { ...cal, guarantee: null };
    const r = driftCheck(manual, Array.from({ length: 30 }, () => ({ rawScore: 150, flagged: true })));
    expect(r.flagged).toBeNull();
    expect(r.status).toBe('too-few');
  });
});
