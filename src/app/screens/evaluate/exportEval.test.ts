// The evaluation's exports, and the evaluation kept in IndexedDB across a reload (fake-indexeddb).
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { calibrate, evaluationReport } from '../../../core/inspection';
import type { EvalItem } from '../../stores/evaluate';
import { evaluationCsv, evaluationJson } from './exportEval';

const item = (over: Partial<EvalItem>): EvalItem => ({ id: 'i', name: 'test/good/a.png', blob: new Blob(['x']), url: 'blob:x', label: 0, category: 'good', ...over });

const cal = calibrate({ source: 'held-out', goodScores: Array.from({ length: 20 }, (_, i) => i + 1), mapScale: { mapLow: 0, mapHigh: 1 } }, { kind: 'false-alarm-rate', rate: 0.05 });

describe('evaluation exports', () => {
  const items = [item({ score: 2 }), item({ id: 'j', name: 'test/crack/b.png', label: 1, category: 'crack', score: 40 }), item({ id: 'k', name: 'c.png', error: 'not an image' })];
  const ctx = { model: { name: 'Tiles', id: 'm', version: 3 }, threshold: cal.threshold, calibration: cal, pixelAuroc: null };

  it('gives each image its folder, label, both scales and the verdict at the threshold shown', () => {
    const lines = evaluationCsv(items, ctx).trim().split('\r\n');
    expect(lines[0]).toBe('folder,file,label,defectType,score,threshold,rawScore,rawThreshold,verdict,error');
    const [good, crack, broken] = lines.slice(1).map((l) => l.split(','));
    expect(good.slice(0, 4)).toEqual(['test/good', 'a.png', 'good', '']);
    expect(good[5]).toBe('0.5');
    expect(Number(good[4])).toBeLessThan(0.5);
    expect(good[8]).toBe('OK');
    expect(crack.slice(0, 4)).toEqual(['test/crack', 'b.png', 'defective', 'crack']);
    expect(Number(crack[4])).toBeGreaterThan(0.5);
    expect(crack[8]).toBe('DEFECT');
    expect(broken.slice(8)).toEqual(['ERROR', 'not an image']);
  });

  it('writes the metrics with the rows, without the ROC points', () => {
    const report = evaluationReport([{ score: 2, label: 0, defect: 'good' }, { score: 40, label: 1, defect: 'crack' }], cal.threshold);
    const j = JSON.parse(evaluationJson(items, report, ctx));
    expect(j).toMatchObject({ model: { name: 'Tiles', version: 3 }, displayThreshold: 0.5, imageAuroc: 1 });
    expect(j.roc).toBeUndefined();
    expect(j.items).toHaveLength(3);
  });
});

describe('the evaluation kept in the browser', () => {
  it('comes back as saved and goes on Clear', async () => {
    const { saveEvalSession, loadEvalSession, clearEvalSession } = await import('../../persistence/evaluateSession');
    await saveEvalSession({ items: [{ id: 'a', name: 'test/good/a.png', blob: new Blob(['x']), label: 0, category: 'good', score: 1.5 }], pixelAuroc: 0.9, scored: true, model: { id: 'm', version: 2 }, savedAt: 5 });
    const back = await loadEvalSession();
    expect(back).toMatchObject({ pixelAuroc: 0.9, scored: true, model: { id: 'm', version: 2 }, items: [{ id: 'a', score: 1.5, label: 0 }] });
    await clearEvalSession();
    expect(await loadEvalSession()).toBeNull();
  });
});
