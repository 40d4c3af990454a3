// The evaluation as files: one CSV row per labelled image (both score scales named, as Inspect's exports)
// and a JSON of the metrics at the threshold on screen with the rows.
import { DISPLAY_THRESHOLD, displayScale, displayScore, sixDigits as clean, splitPath, toCsv, type Calibration, type EvaluationReport } from '../../../core/inspection';
import type { EvalItem } from '../../stores/evaluate';

export interface EvalExportContext {
  model: { name: string; id: string; version: number } | null;
  /** The raw threshold the verdicts are given at (the slider's, else the model's). */
  threshold: number | null;
  /** The model's calibration: the 0-1 scale of the displayed scores. */
  calibration: Calibration | null;
  pixelAuroc: number | null;
}

function rows(items: readonly EvalItem[], c: EvalExportContext) {
  const scale = c.calibration ? displayScale(c.calibration) : null;
  return items.map((it) => {
    const { folder, file } = splitPath(it.name);
    const scored = it.score !== undefined && Number.isFinite(it.score);
    return {
      folder,
      file,
      label: it.label === 1 ? 'defective' : 'good',
      defectType: it.label === 1 ? it.category : '',
      score: scored && scale ? clean(displayScore(it.score!, scale)) : null,
      threshold: scale && c.threshold !== null ? clean(displayScore(c.threshold, scale)) : null,
      rawScore: clean(it.score),
      rawThreshold: clean(c.threshold),
      verdict: !scored ? (it.error ? 'ERROR' : 'PENDING') : c.threshold === null ? '' : it.score! >= c.threshold ? 'DEFECT' : 'OK',
      error: it.error ?? null,
    };
  });
}

export function evaluationCsv(items: readonly EvalItem[], c: EvalExportContext): string {
  const r = rows(items, c);
  const header = ['folder', 'file', 'label', 'defectType', 'score', 'threshold', 'rawScore', 'rawThreshold', 'verdict', 'error'] as const;
  return toCsv(header, r.map((x) => header.map((h) => x[h])));
}

export function evaluationJson(items: readonly EvalItem[], report: EvaluationReport, c: EvalExportContext): string {
  const { roc: _roc, ...metrics } = report;
  return JSON.stringify(
    {
      exportedAt: new Date().toISOString(),
      model: c.model,
      displayThreshold: DISPLAY_THRESHOLD,
      rawThreshold: clean(c.threshold),
      pixelAuroc: c.pixelAuroc,
      ...metrics,
      items: rows(items, c),
    },
    null,
    2,
  );
}
