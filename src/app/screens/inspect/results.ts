import type { Calibration } from '../../../core';
import { toCsv } from '../../lib/csv';
import type { InspectItem, SortKey, VerdictFilter } from '../../stores/inspect';

export type Verdict = 'OK' | 'DEFECT' | 'UNCALIBRATED' | 'ERROR' | 'PENDING';

export function verdictOf(item: InspectItem, cal: Calibration | null): Verdict {
  if (item.status === 'error') return 'ERROR';
  if (item.status !== 'done' || item.score === undefined) return 'PENDING';
  if (!cal) return 'UNCALIBRATED';
  return item.score >= cal.threshold ? 'DEFECT' : 'OK';
}

export function visibleItems(items: InspectItem[], cal: Calibration | null, filter: VerdictFilter, search: string, sort: { key: SortKey; desc: boolean }): InspectItem[] {
  const q = search.trim().toLowerCase();
  const out = items.filter((it) => {
    const v = verdictOf(it, cal);
    if (filter === 'ok' && v !== 'OK') return false;
    if (filter === 'defect' && v !== 'DEFECT') return false;
    if (filter === 'error' && v !== 'ERROR') return false;
    return !q || it.name.toLowerCase().includes(q);
  });
  const rank = (it: InspectItem) => (it.score === undefined ? -Infinity : it.score);
  const cmp: Record<SortKey, (a: InspectItem, b: InspectItem) => number> = {
    order: () => 0,
    name: (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }),
    score: (a, b) => rank(a) - rank(b),
    verdict: (a, b) => verdictOf(a, cal).localeCompare(verdictOf(b, cal)) || rank(a) - rank(b),
  };
  if (sort.key !== 'order') out.sort(cmp[sort.key]);
  if (sort.desc) out.reverse();
  return out;
}

export function resultsCsv(items: InspectItem[], cal: Calibration | null, modelName: string): string {
  return toCsv(
    ['file', 'score', 'verdict', 'threshold', 'model', 'seconds', 'error'],
    items.map((it) => [it.name, it.score ?? null, verdictOf(it, cal), cal?.threshold ?? null, modelName, it.ms !== undefined ? +(it.ms / 1000).toFixed(3) : null, it.error ?? null]),
  );
}

export function resultsJson(items: InspectItem[], cal: Calibration | null, modelName: string): string {
  return JSON.stringify(
    {
      model: modelName,
      threshold: cal?.threshold ?? null,
      exportedAt: new Date().toISOString(),
      results: items.map((it) => ({ file: it.name, score: it.score ?? null, verdict: verdictOf(it, cal), seconds: it.ms !== undefined ? it.ms / 1000 : null, error: it.error ?? null })),
    },
    null,
    2,
  );
}
