import { describe, expect, it } from 'vitest';
import { splitPath, toCsv } from './csv';
import { correctionRecord, dayRange, formatTime, historyCsv, historyFullMessage, historyJson, HISTORY_CSV_COLUMNS, latestCorrections, matchesQuery, newestFirst, verdictRecord, type VerdictInput, type VerdictRecord } from './history';

// Held-out good scores with median 2 and a threshold of 8: raw 8 shows 0.5, raw 2 shows 0.25.
const cal = { threshold: 8, good: { n: 9, mean: 2, std: 1, min: 1, max: 7, median: 2 } };
const model = { id: 'model-a', name: 'Tiles', version: 3, hash: 'ab'.repeat(32) };

function input(over: Partial<VerdictInput> = {}): VerdictInput {
  return { time: Date.UTC(2026, 11, 2, 9, 30), source: 'inspect', station: 'Line 2', operator: 'Ana', imageName: 'lot 7/tray, 2/a.png', imageHash: 'cd'.repeat(32), model, rawScore: 12, calibration: cal, ...over };
}

describe('verdictRecord', () => {
  it('gives the same verdict and 0-1 score as the screens, and keeps the raw score and threshold', () => {
    const r = verdictRecord(input());
    expect(r).toMatchObject({ kind: 'verdict', verdict: 'DEFECT', rawScore: 12, rawThreshold: 8, correctionOf: null, station: 'Line 2', operator: 'Ana' });
    expect(r.score).toBeGreaterThan(0.5);
    expect(r.score).toBeLessThan(1);
    const ok = verdictRecord(input({ rawScore: 2 }));
    expect(ok.verdict).toBe('OK');
    expect(ok.score).toBeCloseTo(0.25, 10);
    // At the threshold itself: DEFECT, as everywhere in the app.
    expect(verdictRecord(input({ rawScore: 8 })).verdict).toBe('DEFECT');
  });

  it('records a score without a threshold as UNCALIBRATED, with no 0-1 score', () => {
    const r = verdictRecord(input({ calibration: null }));
    expect(r).toMatchObject({ verdict: 'UNCALIBRATED', score: null, rawThreshold: null, rawScore: 12 });
  });

  it('copies the model, so a later change of the caller\'s object does not rewrite the record', () => {
    const m = { ...model };
    const r = verdictRecord(input({ model: m }));
    m.version = 4;
    expect(r.model.version).toBe(3);
  });
});

describe('corrections', () => {
  const original: VerdictRecord = { ...verdictRecord(input()), seq: 41 };

  it('are new records that name the original, which stays as it was', () => {
    const before = structuredClone(original);
    const c = correctionRecord(original, 'OK', { time: original.time + 60_000, station: 'Line 2', operator: 'Ben', note: '  dust, wiped off ' });
    expect(c).toMatchObject({ kind: 'correction', verdict: 'OK', correctionOf: 41, operator: 'Ben', note: 'dust, wiped off', imageHash: original.imageHash, rawScore: 12 });
    // No seq of its own until the store gives it one (an own undefined seq would be an invalid key).
    expect('seq' in c).toBe(false);
    expect(original).toEqual(before);
  });

  it('refuse an unsaved verdict and a correction of a correction', () => {
    const unsaved = verdictRecord(input());
    expect(() => correctionRecord(unsaved, 'OK', { time: 1, station: '', operator: '' })).toThrow(/saved/);
    const c = { ...correctionRecord(original, 'OK', { time: 1, station: '', operator: '' }), seq: 42 };
    expect(() => correctionRecord(c, 'DEFECT', { time: 2, station: '', operator: '' })).toThrow(/original/);
  });

  it('the latest correction of a verdict counts', () => {
    const first = { ...correctionRecord(original, 'OK', { time: 100, station: '', operator: '' }), seq: 50 };
    const second = { ...correctionRecord(original, 'DEFECT', { time: 200, station: '', operator: '' }), seq: 51 };
    const latest = latestCorrections([second, original, first]);
    expect(latest.size).toBe(1);
    expect(latest.get(41)?.verdict).toBe('DEFECT');
  });
});

describe('searching the trail', () => {
  const a: VerdictRecord = { ...verdictRecord(input({ time: 1000 })), seq: 1 };
  const b: VerdictRecord = { ...verdictRecord(input({ time: 2000, rawScore: 2, model: { ...model, id: 'model-b' } })), seq: 2 };
  const c: VerdictRecord = { ...correctionRecord(a, 'OK', { time: 3000, station: '', operator: '' }), seq: 3 };

  it('filters by time range (inclusive), model and verdict', () => {
    const all = [a, b, c];
    expect(all.filter((r) => matchesQuery(r, { from: 1000, to: 2000 })).map((r) => r.seq)).toEqual([1, 2]);
    expect(all.filter((r) => matchesQuery(r, { modelId: 'model-b' })).map((r) => r.seq)).toEqual([2]);
    expect(all.filter((r) => matchesQuery(r, { verdict: 'DEFECT' })).map((r) => r.seq)).toEqual([1]);
    expect(all.filter((r) => matchesQuery(r, { verdict: 'OK' })).map((r) => r.seq)).toEqual([2, 3]);
    expect(all.filter((r) => matchesQuery(r, { verdict: 'corrections' })).map((r) => r.seq)).toEqual([3]);
    expect(all.filter((r) => matchesQuery(r, {})).length).toBe(3);
  });

  it('orders newest first, records of the same millisecond by save order', () => {
    const same: VerdictRecord = { ...b, time: 3000, seq: 4 };
    expect([a, b, c, same].sort(newestFirst).map((r) => r.seq)).toEqual([4, 3, 2, 1]);
  });

  it('turns date fields into whole local days, either way round, open where empty', () => {
    const r = dayRange('2026-03-05', '2026-03-07');
    expect(r.from).toBe(new Date(2026, 2, 5).getTime());
    expect(r.to).toBe(new Date(2026, 2, 8).getTime() - 1);
    expect(dayRange('2026-03-07', '2026-03-05')).toEqual(r);
    expect(dayRange('', '2026-03-07')).toEqual({ from: undefined, to: r.to });
    expect(dayRange('2026-03-05', '')).toEqual({ from: r.from, to: undefined });
    expect(dayRange('not a date', '')).toEqual({ from: undefined, to: undefined });
    expect(formatTime(new Date(2026, 2, 5, 7, 4, 9).getTime())).toBe('2026-03-05 07:04:09');
  });
});

describe('exports', () => {
  const a: VerdictRecord = { ...verdictRecord(input()), seq: 7 };
  const c: VerdictRecord = { ...correctionRecord(a, 'OK', { time: a.time + 1, station: 'Line 2', operator: 'Ben', note: 'said "dust"' }), seq: 8 };

  it('CSV: time and folder first, both score scales named, quoted where needed', () => {
    const lines = historyCsv([a, c]).trimEnd().split('\r\n');
    expect(lines[0]).toBe(HISTORY_CSV_COLUMNS.join(','));
    expect(lines[0]).toMatch(/^time,station,operator,folder,file,imageSha256,score,threshold,rawScore,rawThreshold,verdict/);
    expect(lines).toHaveLength(3);
    const row = lines[1];
    expect(row.startsWith('2026-12-02T09:30:00.000Z,Line 2,Ana,"lot 7/tray, 2",a.png,')).toBe(true);
    // score on 0-1 with its threshold 0.5; the raw ones next to it, each labelled.
    const cells = row.split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/);
    const at = (k: string) => cells[HISTORY_CSV_COLUMNS.indexOf(k as (typeof HISTORY_CSV_COLUMNS)[number])];
    expect(Number(at('score'))).toBeGreaterThan(0.5);
    expect(at('threshold')).toBe('0.5');
    expect(at('rawScore')).toBe('12');
    expect(at('rawThreshold')).toBe('8');
    expect(at('record')).toBe('7');
    expect(lines[2]).toContain('"said ""dust"""');
  });

  it('JSON: the records, the query and what the scales mean', () => {
    const doc = JSON.parse(historyJson([a, c], Date.UTC(2026, 11, 3), { from: 0, modelId: 'model-a', verdict: 'DEFECT' }));
    expect(doc.exportedAt).toBe('2026-12-03T00:00:00.000Z');
    expect(doc.query).toEqual({ from: '1970-01-01T00:00:00.000Z', to: null, modelId: 'model-a', verdict: 'DEFECT' });
    expect(doc.records[1]).toMatchObject({ kind: 'correction', correctionOf: 7, verdict: 'OK', folder: 'lot 7/tray, 2', file: 'a.png', threshold: 0.5, rawThreshold: 8 });
    expect(doc.scales).toMatch(/0-1/);
  });

  it('says what to do when storage is full, and that the verdicts are not lost yet', () => {
    const m = historyFullMessage(3);
    expect(m).toMatch(/3 verdicts could not be written/);
    expect(m).toMatch(/export/i);
    expect(m).toMatch(/delete the older/);
  });
});

describe('csv helpers', () => {
  it('splits a dropped path into folder and file', () => {
    expect(splitPath('a/b/c.png')).toEqual({ folder: 'a/b', file: 'c.png' });
    expect(splitPath('c.png')).toEqual({ folder: '', file: 'c.png' });
  });
  it('quotes commas, quotes and line breaks; leaves non-finite numbers empty', () => {
    expect(toCsv(['x', 'y'], [['a,b', 'say "hi"'], [NaN, 'two\nlines']])).toBe('x,y\r\n"a,b","say ""hi"""\r\n,"two\nlines"\r\n');
  });
});
