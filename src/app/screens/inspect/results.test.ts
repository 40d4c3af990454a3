import { describe, expect, it } from 'vitest';
import { calibrationAt } from '../../../../test/support/appStores';
import type { InspectItem } from '../../stores/inspect';
import { resultsCsv, resultsJson } from './results';

const item = (name: string, score: number, scoredAt: number): InspectItem => ({
  id: name,
  order: 0,
  name,
  blob: new Blob(),
  url: '',
  status: 'done',
  score,
  scoredAt,
  judgedBy: { modelId: 'model-1', name: 'Part', version: 2, calibration: calibrationAt(9.29504) },
});

describe('Inspect exports', () => {
  it('name each score scale: 0-1 score with the 0.5 threshold, raw score with the raw threshold; time and folder on every row', () => {
    const lines = resultsCsv([item('lot 7/tray 2/a.png', 12, Date.UTC(2026, 11, 2, 8))]).trimEnd().split('\r\n');
    expect(lines[0]).toBe('time,folder,file,score,threshold,rawScore,rawThreshold,verdict,model,modelId,modelVersion,seconds,error');
    const [time, folder, file, score, thr, raw, rawThr, verdict] = lines[1].split(',');
    expect([time, folder, file]).toEqual(['2026-12-02T08:00:00.000Z', 'lot 7/tray 2', 'a.png']);
    // The walk-through's CSV paired a 0-1 score (0.586864) with the raw threshold (9.29504) under one name.
    expect(Number(score)).toBeGreaterThan(0.5);
    expect(Number(score)).toBeLessThan(1);
    expect(thr).toBe('0.5');
    expect([raw, rawThr, verdict]).toEqual(['12', '9.29504', 'DEFECT']);
    const doc = JSON.parse(resultsJson([item('b.png', 1, 0)]));
    expect(doc.results[0]).toMatchObject({ folder: '', file: 'b.png', threshold: 0.5, rawThreshold: 9.29504, verdict: 'OK' });
  });
});
