import { judge } from '../../../core/inspection';
import { toCsv } from '../../lib/csv';
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

/** Six significant digits: what a float32 score holds, without the float64 noise of its decimal form. */
const clean = (v: number | undefined | null) => (v === undefined || v === null || !Number.isFinite(v) ? null : Number(v.toPrecision(6)));

function row(it: InspectItem) {
  const j = it.judgedBy;
  return {
    file: it.name,
    score: clean(displayOf(it)),
    rawScore: clean(it.score),
    verdict: verdictOf(it),
    threshold: clean(j?.calibration?.threshold),
    model: j?.name ?? null,
    modelId: j?.modelId ?? null,
    modelVersion: j?.version ?? null,
    seconds: it.ms !== undefined ? +(it.ms / 1000).toFixed(3) : null,
    error: it.error ?? null,
  };
}

export function resultsCsv(items: InspectItem[]): string {
  const rows = items.map(row);
  const keys = ['file', 'score', 'rawScore', 'verdict', 'threshold', 'model', 'modelId', 'modelVersion', 'seconds', 'error'] as const;
  return toCsv([...keys], rows.map((r) => keys.map((k) => r[k])));
}

export function resultsJson(items: InspectItem[]): string {
  return JSON.stringify({ exportedAt: new Date().toISOString(), displayThreshold: 0.5, results: items.map(row) }, null, 2);
}
