import { describe, expect, it } from 'vitest';
import { correctionRecord, verdictRecord, type VerdictRecord } from './history';
import { defaultPaper, flaggedRows, historyReportRows, reportSummary, type ReportRow } from './report';

const row = (over: Partial<ReportRow>): ReportRow => ({ time: 0, name: 'a.png', verdict: 'OK', score: 0.2, rawScore: 1, model: 'm v1', source: 'inspect', key: 'k', ...over });

describe('report summary', () => {
  it('counts verdicts, corrections, sources, models and the time span; the fail rate is over judged images only', () => {
    const s = reportSummary([
      row({ time: 30, verdict: 'DEFECT', correctedTo: 'OK' }),
      row({ time: 10 }),
      row({ time: 20, verdict: 'DEFECT', model: 'm v2', source: 'live' }),
      row({ time: null, verdict: 'ERROR', model: '' }),
      row({ time: 40, verdict: 'UNCALIBRATED' }),
      row({ time: 50, correctedTo: 'DEFECT' }),
    ]);
    expect(s).toMatchObject({ total: 6, ok: 2, defect: 2, uncalibrated: 1, errors: 1, markedGood: 1, markedDefect: 1, first: 10, last: 50, models: ['m v1', 'm v2'], bySource: { inspect: 5, live: 1 } });
    expect(s.failRate).toBe(0.5);
  });

  it('has no fail rate without a judged image', () => {
    expect(reportSummary([row({ verdict: 'UNCALIBRATED' })]).failRate).toBeNull();
    expect(reportSummary([]).first).toBeNull();
  });
});

describe('flagged rows', () => {
  it('puts the highest raw score first and counts what does not fit', () => {
    const rows = [1, 5, 3, 4].map((raw, i) => row({ key: String(i), rawScore: raw, verdict: 'DEFECT' }));
    rows.push(row({ key: 'ok', rawScore: 9 }));
    const f = flaggedRows(rows, 3);
    expect(f.shown.map((r) => r.rawScore)).toEqual([5, 4, 3]);
    expect(f.more).toBe(1);
  });
});

describe('report rows from the history', () => {
  it('applies the latest correction to its verdict and leaves corrections out as rows', () => {
    const model = { id: 'm', name: 'Tiles', version: 2, hash: null };
    const base = { source: 'inspect' as const, station: 'S', operator: 'O', imageHash: null, model, calibration: { threshold: 10, good: { n: 5, mean: 5, std: 2, min: 1, max: 9, median: 5 } } };
    const a: VerdictRecord = { ...verdictRecord({ ...base, time: 100, imageName: 'lot/a.png', rawScore: 20 }), seq: 1 };
    const b: VerdictRecord = { ...verdictRecord({ ...base, time: 50, imageName: 'lot/b.png', rawScore: 2 }), seq: 2 };
    const fix1: VerdictRecord = { ...correctionRecord(a, 'DEFECT', { time: 200, station: 'S', operator: 'O' }), seq: 3 };
    const fix2: VerdictRecord = { ...correctionRecord(a, 'OK', { time: 300, station: 'S', operator: 'O' }), seq: 4 };
    const rows = historyReportRows([fix2, a, fix1, b]);
    expect(rows.map((r) => [r.name, r.verdict, r.correctedTo, r.model, r.key])).toEqual([
      ['lot/b.png', 'OK', undefined, 'Tiles v2', '2'],
      ['lot/a.png', 'DEFECT', 'OK', 'Tiles v2', '1'],
    ]);
    expect(reportSummary(rows).markedGood).toBe(1);
  });

  it('names a recalibrated threshold in the model (v2.1), and a withdrawn correction leaves the verdict as given', () => {
    const model = { id: 'm', name: 'Tiles', version: 2, revision: 1, hash: null };
    const c: VerdictRecord = { ...verdictRecord({ source: 'inspect', station: '', operator: '', imageHash: null, model, calibration: { threshold: 10, good: { n: 5, mean: 5, std: 2, min: 1, max: 9, median: 5 } }, time: 10, imageName: 'c.png', rawScore: 20 }), seq: 1 };
    const fix: VerdictRecord = { ...correctionRecord(c, 'OK', { time: 20, station: '', operator: '' }), seq: 2 };
    const back: VerdictRecord = { ...correctionRecord(c, 'DEFECT', { time: 30, station: '', operator: '' }), seq: 3 };
    const rows = historyReportRows([back, fix, c]);
    expect(rows.map((r) => [r.verdict, r.correctedTo, r.model])).toEqual([['DEFECT', undefined, 'Tiles v2.1']]);
    expect(reportSummary(rows)).toMatchObject({ markedGood: 0, markedDefect: 0 });
  });
});

describe('paper', () => {
  it('is Letter in the United States and Canada, A4 elsewhere', () => {
    expect(defaultPaper('en-US')).toBe('letter');
    expect(defaultPaper('fr-CA')).toBe('letter');
    expect(defaultPaper('en-GB')).toBe('a4');
    expect(defaultPaper('de')).toBe('a4');
  });
});
