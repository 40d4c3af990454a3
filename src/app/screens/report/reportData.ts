// Gathers what a report prints, from the Inspect batch or from the history of a date range: rows, the
// models that judged them with their thresholds, and the images of flagged parts this browser still holds.
import { dayRange, describeCalibration, formatRawScore, historyReportRows, type Calibration, type ReportRow, type VerdictRecord, versionLabel } from '../../../core/inspection';
import type { OverlayInput } from '../../lib/overlay';
import { queryVerdicts } from '../../persistence/history';
import type { ModelRecord } from '../../persistence/models';
import { listStationDefects } from '../../persistence/stationDefects';
import type { InspectItem } from '../../stores/inspect';
import { displayOf, overlayInput, verdictOf } from '../inspect/results';

export type ReportSource = { kind: 'batch' } | { kind: 'history'; fromDay: string; toDay: string; modelId: string };

/** A model version as the report names it, with its threshold on both scales and what that threshold promises. */
export interface ReportModel {
  label: string;
  rawThreshold: number | null;
  /** The guarantee sentence, where the calibration that judged is known; else why not. */
  sentence: string;
}

export interface ReportData {
  rows: ReportRow[];
  models: ReportModel[];
  /** The overlay input of a row's image, by row key, where this browser still holds the image. */
  images: Map<string, OverlayInput>;
  /** Rows that could not be read (storage); the report says so. */
  note: string | null;
}

export function sourceFromParams(p: URLSearchParams, today: string): ReportSource {
  if (p.get('source') === 'history') {
    const fromDay = p.get('from') || today;
    return { kind: 'history', fromDay, toDay: p.get('to') || fromDay, modelId: p.get('model') ?? '' };
  }
  return { kind: 'batch' };
}

export function reportHash(s: ReportSource): string {
  if (s.kind === 'batch') return '#/report?source=batch';
  const q = new URLSearchParams({ source: 'history', from: s.fromDay, to: s.toDay });
  if (s.modelId) q.set('model', s.modelId);
  return `#/report?${q}`;
}

function modelSentence(cal: Calibration | null): string {
  if (!cal) return 'No threshold: these scores carry no verdict.';
  return `${describeCalibration(cal)}. Raw DifferNet threshold ${formatRawScore(cal.threshold)}; shown as 0.5 on the app's 0-1 score.`;
}

export function batchReport(items: readonly InspectItem[]): ReportData {
  const rows: ReportRow[] = [];
  const images = new Map<string, OverlayInput>();
  const models = new Map<string, ReportModel>();
  for (const it of [...items].sort((a, b) => a.order - b.order)) {
    const v = verdictOf(it);
    if (v === 'PENDING') continue;
    const model = it.judgedBy ? `${it.judgedBy.name} ${versionLabel(it.judgedBy.version, it.judgedBy.calibration?.revision)}` : '';
    rows.push({ time: it.scoredAt ?? null, name: it.name, verdict: v, score: displayOf(it) ?? null, rawScore: it.score ?? null, model, source: 'inspect', key: it.id });
    if (it.status === 'done' && it.score !== undefined) images.set(it.id, overlayInput(it));
    if (it.judgedBy && !models.has(model)) models.set(model, { label: model, rawThreshold: it.judgedBy.calibration?.threshold ?? null, sentence: modelSentence(it.judgedBy.calibration) });
  }
  return { rows, models: [...models.values()], images, note: null };
}

/**
 * The history's verdicts in the range. Images: an Inspect row still in the batch (same path, scored at the
 * same millisecond), or a Live frame the station saved as a defect (taken at that millisecond).
 */
export async function historyReport(s: Extract<ReportSource, { kind: 'history' }>, batch: readonly InspectItem[], models: readonly ModelRecord[]): Promise<ReportData> {
  const range = dayRange(s.fromDay, s.toDay);
  const records: VerdictRecord[] = (await queryVerdicts(range)).filter((r) => !s.modelId || r.model.id === s.modelId);
  const rows = historyReportRows(records);
  const images = new Map<string, OverlayInput>();
  const byNameAndTime = new Map(batch.filter((it) => it.scoredAt !== undefined).map((it) => [`${it.name}@${it.scoredAt}`, it]));
  let saved: Awaited<ReturnType<typeof listStationDefects>> = [];
  if (rows.some((r) => r.source === 'live' && r.verdict === 'DEFECT')) saved = await listStationDefects().catch(() => []);
  const savedAt = new Map(saved.map((d) => [d.takenAt, d]));
  const calOf = (id: string, version: number, threshold: number | null) => {
    const m = models.find((x) => x.id === id);
    return m && m.version === version && m.calibration && m.calibration.threshold === threshold ? m.calibration : null;
  };
  for (const r of records) {
    if (r.kind !== 'verdict' || r.verdict !== 'DEFECT') continue;
    const key = String(r.seq ?? `${r.time}:${r.imageName}`);
    const it = byNameAndTime.get(`${r.imageName}@${r.time}`);
    if (it && it.score !== undefined) {
      images.set(key, overlayInput(it));
      continue;
    }
    const d = r.source === 'live' ? savedAt.get(r.time) : undefined;
    if (d) {
      images.set(key, {
        name: r.imageName,
        blob: d.map?.image ?? d.image,
        score: d.map?.score ?? d.score,
        display: r.score ?? undefined,
        verdict: 'DEFECT',
        map: d.map?.map,
        mapWidth: d.map?.width,
        mapHeight: d.map?.height,
        calibration: calOf(r.model.id, r.model.version, r.rawThreshold),
        model: `${r.model.name} ${versionLabel(r.model.version, r.model.revision)}`,
      });
    }
  }
  const seen = new Map<string, ReportModel>();
  for (const r of records) {
    if (r.kind !== 'verdict') continue;
    const label = `${r.model.name} ${versionLabel(r.model.version, r.model.revision)}`;
    const key = `${label}@${r.rawThreshold}`;
    if (seen.has(key)) continue;
    const cal = calOf(r.model.id, r.model.version, r.rawThreshold);
    seen.set(key, {
      label,
      rawThreshold: r.rawThreshold,
      sentence: cal
        ? modelSentence(cal)
        : r.rawThreshold === null
          ? 'No threshold: these scores carry no verdict.'
          : `Raw DifferNet threshold ${formatRawScore(r.rawThreshold)} (0.5 on the app's 0-1 score). This version or threshold is no longer the model's current one in this browser, so what it promised is not restated here.`,
    });
  }
  return { rows, models: [...seen.values()], images, note: null };
}
