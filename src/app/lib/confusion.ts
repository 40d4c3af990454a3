export interface Counts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Counts at a threshold (score >= threshold is a defect), skipping unscored items. */
export function countsAt(scores: readonly number[], labels: readonly (0 | 1)[], threshold: number): Counts {
  const c: Counts = { tp: 0, fp: 0, tn: 0, fn: 0 };
  scores.forEach((s, i) => {
    if (!Number.isFinite(s)) return;
    const flagged = s >= threshold;
    if (labels[i] === 1) c[flagged ? 'tp' : 'fn']++;
    else c[flagged ? 'fp' : 'tn']++;
  });
  return c;
}

export interface Bin {
  x0: number;
  x1: number;
  good: number;
  defect: number;
}

/** Shared bins for the good and defective score histograms. */
export function histogram(scores: readonly number[], labels: readonly (0 | 1)[], bins = 24): Bin[] {
  const valid = scores.filter(Number.isFinite);
  if (valid.length === 0) return [];
  const lo = Math.min(...valid);
  const hi = Math.max(...valid);
  const w = (hi - lo) / bins || 1;
  const out: Bin[] = Array.from({ length: bins }, (_, i) => ({ x0: lo + i * w, x1: lo + (i + 1) * w, good: 0, defect: 0 }));
  scores.forEach((s, i) => {
    if (!Number.isFinite(s)) return;
    const b = out[Math.min(bins - 1, Math.floor((s - lo) / w))];
    if (labels[i] === 1) b.defect++;
    else b.good++;
  });
  return out;
}
