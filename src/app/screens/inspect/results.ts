import { DISPLAY_THRESHOLD, judge, sixDigits as clean, splitPath, versionLabel } from '../../../core/inspection';
import { toCsv } from '../../lib/csv';
import type { OverlayInput } from '../../lib/overlay';
import type { InspectItem, SortKey, VerdictFilter } from '../../stores/inspect';

export type Verdict = 'OK' | 'DEFECT' | 'UNCALIBRATED' | 'ERROR' | 'PENDING';

/** The verdict of the model version that scored the item, at its threshold then. */
export function verdictOf(item: InspectItem): Verdict {
  if (item.status === 'error') return 'ERROR';
  if (item.status !== 'done' || item.score === undefined) return 'PENDING';
  const cal = item.judgedBy?.calibration;
  if (!cal) return 'UNCALIBRATED';
  return judge(item.score, cal).verdict === 'defect' ? 'DEFECT' : 'OK';
}

/** The displayed 0-1 score (threshold at 0.5), or undefined before scoring or without a calibration. */
export function displayOf(item: InspectItem): number | undefined {
  const cal = item.judgedBy?.calibration;
  if (item.score === undefined || !cal) return undefined;
  return judge(item.score, cal).display;
}

export function visibleItems(items: InspectItem[], filter: VerdictFilter, search: string, sort: { key: SortKey; desc: boolean }): InspectItem[] {
  const q = search.trim().toLowerCase();
  const out = items.filter((it) => {
    const v = verdictOf(it);
    if (filter === 'ok' && v !== 'OK') return false;
    if (filter === 'defect' && v !== 'DEFECT') return false;
    if (filter === 'error' && v !== 'ERROR') return false;
    return !q || it.name.toLowerCase().includes(q);
  });
  // Display scores of different models are on different scales; within one model they order as raw scores do.
  const rank = (it: InspectItem) => displayOf(it) ?? (it.score === undefined ? -Infinity : it.score);
  const cmp: Record<SortKey, (a: InspectItem, b: InspectItem) => number> = {
    order: () => 0,
    name: (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }),
    score: (a, b) => rank(a) - rank(b),
    verdict: (a, b) => verdictOf(a).localeCompare(verdictOf(b)) || rank(a) - rank(b),
  };
  if (sort.key !== 'order') out.sort(cmp[sort.key]);
  if (sort.desc) out.reverse();
  return out;
}

/**
 * One row of the exports. One scale per name: `score` and `threshold` are the 0-1 ones people see
 * (DEFECT at 0.5), `rawScore` and `rawThreshold` DifferNet's; `time` is when it was scored, and the
 * dropped path is split into `folder` and `file`.
 */
function row(it: InspectItem) {
  const j = it.judgedBy;
  const { folder, file } = splitPath(it.name);
  return {
    time: it.scoredAt !== undefined ? new Date(it.scoredAt).toISOString() : null,
    folder,
    file,
    score: clean(displayOf(it)),
    threshold: j?.calibration ? DISPLAY_THRESHOLD : null,
    rawScore: clean(it.score),
    rawThreshold: clean(j?.calibration?.threshold),
    verdict: verdictOf(it),
    model: j?.name ?? null,
    modelId: j?.modelId ?? null,
    modelVersion: j?.version ?? null,
    seconds: it.ms !== undefined ? +(it.ms / 1000).toFixed(3) : null,
    error: it.error ?? null,
  };
}

export function resultsCsv(items: InspectItem[]): string {
  const rows = items.map(row);
  const keys = ['time', 'folder', 'file', 'score', 'threshold', 'rawScore', 'rawThreshold', 'verdict', 'model', 'modelId', 'modelVersion', 'seconds', 'error'] as const;
  return toCsv([...keys], rows.map((r) => keys.map((k) => r[k])));
}

export function resultsJson(items: InspectItem[]): string {
  return JSON.stringify({ exportedAt: new Date().toISOString(), displayThreshold: 0.5, results: items.map(row) }, null, 2);
}

/** What the overlay PNG of a scored item is drawn from: its verdict and scale are those of the model that judged it. */
export function overlayInput(it: InspectItem): OverlayInput {
  return {
    name: it.name,
    blob: it.blob,
    score: it.score!,
    display: displayOf(it),
    verdict: verdictOf(it),
    map: it.map,
    mapWidth: it.mapWidth,
    mapHeight: it.mapHeight,
    calibration: it.judgedBy?.calibration ?? null,
    model: it.judgedBy ? `${it.judgedBy.name} ${versionLabel(it.judgedBy.version, it.judgedBy.calibration?.revision)}` : '',
  };
}
