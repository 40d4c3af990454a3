// One evaluation report for the CLI, the worker and the app: AUROC, ROC, F1-max and the confusion at a threshold.
import { auroc, confusion, downsampleRoc, f1MaxThreshold, rocCurve, scoreStats, type Confusion, type F1Max, type ScoreStats } from '../metrics';

export interface LabelledScore {
  score: number;
  label: 0 | 1;
  /** Defect type (MVTec folder name); 'good' for good images. */
  defect: string;
}

export interface AtThreshold extends Confusion {
  threshold: number;
  /** Good images flagged / good images. */
  falseAlarmRate: number;
  /** Defective images flagged / defective images. */
  recall: number;
  precision: number;
  f1: number;
}

export interface EvaluationReport {
  images: number;
  /** Items without a finite score (unreadable files), left out of every number. */
  unscored: number;
  imageAuroc: number | null;
  perDefect: Record<string, { n: number; auroc: number | null; recall: number | null }>;
  roc: { fpr: number[]; tpr: number[]; thresholds: number[] };
  f1Max: F1Max | null;
  atThreshold: AtThreshold | null;
  good: ScoreStats;
  defective: ScoreStats;
}

/** The numbers at one threshold; NaN where a class is absent. */
export function atThreshold(scores: ArrayLike<number>, labels: ArrayLike<0 | 1>, threshold: number): AtThreshold {
  const c = confusion(scores, labels, threshold);
  const ratio = (a: number, b: number) => (b > 0 ? a / b : NaN);
  const precision = ratio(c.tp, c.tp + c.fp);
  const recall = ratio(c.tp, c.tp + c.fn);
  return { threshold, ...c, falseAlarmRate: ratio(c.fp, c.fp + c.tn), recall, precision, f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn) };
}

export function evaluationReport(items: LabelledScore[], threshold: number | null, rocPoints = 300): EvaluationReport {
  const scored = items.filter((it) => Number.isFinite(it.score));
  const scores = scored.map((it) => it.score);
  const labels = scored.map((it) => it.label);
  const both = labels.includes(0) && labels.includes(1);
  const perDefect: EvaluationReport['perDefect'] = {};
  for (const d of [...new Set(scored.filter((t) => t.label === 1).map((t) => t.defect))].sort()) {
    const sub = scored.filter((t) => t.label === 0 || t.defect === d);
    const n = sub.filter((t) => t.label === 1).length;
    const flagged = threshold === null ? null : sub.filter((t) => t.label === 1 && t.score >= threshold).length;
    perDefect[d] = {
      n,
      auroc: sub.some((t) => t.label === 0) ? auroc(sub.map((t) => t.score), sub.map((t) => t.label)) : null,
      recall: flagged === null ? null : flagged / n,
    };
  }
  const roc = both ? downsampleRoc(rocCurve(scores, labels), rocPoints) : { fpr: [], tpr: [], thresholds: [] };
  return {
    images: items.length,
    unscored: items.length - scored.length,
    imageAuroc: both ? auroc(scores, labels) : null,
    perDefect,
    roc: { fpr: roc.fpr, tpr: roc.tpr, thresholds: roc.thresholds },
    f1Max: labels.includes(1) ? f1MaxThreshold(scores, labels) : null,
    atThreshold: threshold === null || scored.length === 0 ? null : atThreshold(scores, labels, threshold),
    good: scoreStats(scores.filter((_, i) => labels[i] === 0)),
    defective: scoreStats(scores.filter((_, i) => labels[i] === 1)),
  };
}

/**
 * The threshold with the best F1 over the scored items, or null unless both classes are there: without good
 * images any cut below every defect "wins", which says nothing about false alarms.
 */
export function bestF1Threshold(items: LabelledScore[]): number | null {
  const scored = items.filter((it) => Number.isFinite(it.score));
  if (!scored.some((it) => it.label === 1) || !scored.some((it) => it.label === 0)) return null;
  return f1MaxThreshold(scored.map((it) => it.score), scored.map((it) => it.label)).threshold;
}

/**
 * The cuts a threshold control can take over these scores: below all, between each pair of neighbouring
 * distinct scores, above all. Stepping through them (arrow keys) reaches every distinct verdict split,
 * however the scores are spread (they span twelve orders of magnitude).
 */
export function thresholdCuts(scores: ArrayLike<number>): number[] {
  const s = [...new Set(Array.from(scores).filter(Number.isFinite))].sort((a, b) => a - b);
  if (s.length === 0) return [];
  const cuts = [s[0]];
  for (let i = 1; i < s.length; i++) cuts.push(s[i - 1] / 2 + s[i] / 2 > s[i - 1] ? s[i - 1] / 2 + s[i] / 2 : s[i]);
  cuts.push(s[s.length - 1] * (1 + 1e-9) + Number.MIN_VALUE);
  return cuts;
}

/** Index of the cut nearest to `threshold` (in log space), for placing a slider on a given threshold. */
export function nearestCut(cuts: number[], threshold: number): number {
  let best = 0;
  let bestD = Infinity;
  cuts.forEach((c, i) => {
    const d = Math.abs(Math.log(Math.max(c, 1e-300)) - Math.log(Math.max(threshold, 1e-300)));
    if (d < bestD) {
      bestD = d;
      best = i;
    }
  });
  return best;
}

export interface LogBin {
  x0: number;
  x1: number;
  good: number;
  defect: number;
}

/** Shared log-spaced bins for the good and defective score histograms (raw scores span many decades). */
export function logHistogram(scores: ArrayLike<number>, labels: ArrayLike<0 | 1>, bins = 30): LogBin[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i).filter((i) => Number.isFinite(scores[i]) && scores[i] > 0);
  if (idx.length === 0) return [];
  const logs = idx.map((i) => Math.log10(scores[i]));
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const w = (hi - lo) / bins || 1;
  const out: LogBin[] = Array.from({ length: bins }, (_, b) => ({ x0: 10 ** (lo + b * w), x1: 10 ** (lo + (b + 1) * w), good: 0, defect: 0 }));
  idx.forEach((i, j) => {
    const b = out[Math.min(bins - 1, Math.floor((logs[j] - lo) / w))];
    if (labels[i] === 1) b.defect++;
    else b.good++;
  });
  return out;
}
