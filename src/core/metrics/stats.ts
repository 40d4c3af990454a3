// Order statistics shared by the threshold rules and the score summaries.
import { checkScore } from './split';

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  const s = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    checkScore(values[i], i);
    s[i] = values[i];
  }
  return s.sort();
}

/**
 * `numpy.percentile(values, p)` with the default 'linear' method, on ascending values, bit for bit in
 * float64: index (n - 1) * p / 100, and numpy's two-sided lerp that stays exact near either neighbour.
 */
export function percentileSorted(sorted: ArrayLike<number>, percentile: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError('percentile of an empty set');
  if (!(percentile >= 0 && percentile <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${percentile}`);
  const index = (n - 1) * (percentile / 100);
  if (index >= n - 1) return sorted[n - 1];
  const lo = Math.floor(index);
  const t = index - lo;
  const a = sorted[lo];
  const b = sorted[lo + 1];
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

export interface ScoreStats {
  n: number;
  mean: number;
  /** Population standard deviation (numpy's default ddof = 0). */
  std: number;
  min: number;
  max: number;
  median: number;
}

/** Summary of a score set; an empty set gives n = 0 and NaN elsewhere (nothing to summarise is not an error). */
export function scoreStats(scores: ArrayLike<number>): ScoreStats {
  const s = sortedCopy(scores);
  const n = s.length;
  if (n === 0) return { n: 0, mean: NaN, std: NaN, min: NaN, max: NaN, median: NaN };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += s[i];
  const mean = sum / n;
  // Two passes: the one-pass sum of squares loses everything when scores sit far from zero.
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (s[i] - mean) ** 2;
  return { n, mean, std: Math.sqrt(ss / n), min: s[0], max: s[n - 1], median: percentileSorted(s, 50) };
}
