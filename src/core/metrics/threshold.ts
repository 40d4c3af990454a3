// Decision thresholds. Everywhere: score >= threshold means "defect".
import { checkLengths, checkScore, isPositive, splitSorted, type BinaryLabel } from './split';
import { percentileSorted, sortedCopy } from './stats';

/**
 * A threshold strictly between two neighbouring distinct scores `lower < upper`: their midpoint, which
 * leaves equal margin to both for unseen images. Falls back to `upper` where no double lies strictly
 * between (adjacent floats), so the split the threshold was chosen for is never changed by rounding.
 */
export function splitBetween(lower: number, upper: number): number {
  const mid = lower / 2 + upper / 2;
  return mid > lower && mid <= upper ? mid : upper;
}

/** The smallest double above v: the tightest threshold that flags nothing at or below v. */
export function nextUp(v: number): number {
  if (Number.isNaN(v) || v === Infinity) return v;
  if (v === 0) return Number.MIN_VALUE;
  const f = new Float64Array([v]);
  const bits = new BigInt64Array(f.buffer);
  bits[0] += v > 0 ? 1n : -1n;
  return f[0];
}

export interface F1Max {
  threshold: number;
  f1: number;
  precision: number;
  recall: number;
}

/**
 * The cut over the sorted scores that maximises F1 on this labelled set. The threshold is the midpoint
 * between the lowest score called defective and the next lower distinct score (or that lowest score
 * itself when every sample is called defective), so it reproduces exactly the chosen split here while
 * not sitting on any one sample. Equal F1 keeps the higher threshold (fewer alarms).
 */
export function f1MaxThreshold(scores: ArrayLike<number>, labels: ArrayLike<BinaryLabel>): F1Max {
  const { pos, neg } = splitSorted(scores, labels);
  const nPos = pos.length;
  if (nPos === 0) throw new RangeError('F1 needs at least one defective sample');
  let ip = nPos - 1;
  let ineg = neg.length - 1;
  let best = { f1: -1, tp: 0, fp: 0, cutIndexPos: 0, cutIndexNeg: 0, t: Infinity };
  while (ip >= 0 || ineg >= 0) {
    const t = Math.max(ip >= 0 ? pos[ip] : -Infinity, ineg >= 0 ? neg[ineg] : -Infinity);
    while (ip >= 0 && pos[ip] === t) ip--;
    while (ineg >= 0 && neg[ineg] === t) ineg--;
    const tp = nPos - 1 - ip;
    const fp = neg.length - 1 - ineg;
    const f1 = (2 * tp) / (tp + fp + nPos);
    if (f1 > best.f1) best = { f1, tp, fp, cutIndexPos: ip, cutIndexNeg: ineg, t };
  }
  const below = Math.max(best.cutIndexPos >= 0 ? pos[best.cutIndexPos] : -Infinity, best.cutIndexNeg >= 0 ? neg[best.cutIndexNeg] : -Infinity);
  return {
    threshold: below === -Infinity ? best.t : splitBetween(below, best.t),
    f1: best.f1,
    precision: best.tp / (best.tp + best.fp),
    recall: best.tp / nPos,
  };
}

/** `numpy.percentile(goodScores, percentile)` (linear interpolation), e.g. 99 for "above 99% of good parts". */
export function percentileThreshold(goodScores: ArrayLike<number>, percentile: number): number {
  if (goodScores.length === 0) throw new RangeError('a percentile threshold needs at least one good score');
  return percentileSorted(sortedCopy(goodScores), percentile);
}

/**
 * The lowest threshold that flags at most floor(rate * n) of these good scores (a 1e-9 slack absorbs
 * decimal rates like 0.29 * 100 = 28.999...). It lies midway to the next higher distinct score, or just
 * above the highest score (its next double) when no good score may be flagged. Ties can make the
 * achieved rate lower than asked, never higher.
 */
export function thresholdForFalseAlarmRate(goodScores: ArrayLike<number>, rate: number): number {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`false-alarm rate must be in [0, 1], got ${rate}`);
  const s = sortedCopy(goodScores);
  const n = s.length;
  if (n === 0) throw new RangeError('a false-alarm threshold needs at least one good score');
  const allowed = Math.floor(rate * n + 1e-9);
  if (allowed >= n) return s[0];
  const v = s[n - allowed - 1];
  let i = n - allowed;
  while (i < n && s[i] === v) i++;
  return i < n ? splitBetween(v, s[i]) : nextUp(v);
}

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Counts with score >= threshold predicted defective. */
export function confusion(scores: ArrayLike<number>, labels: ArrayLike<BinaryLabel>, threshold: number): Confusion {
  checkLengths(scores, labels);
  const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < scores.length; i++) {
    checkScore(scores[i], i);
    const flagged = scores[i] >= threshold;
    if (isPositive(labels[i], i)) {
      if (flagged) c.tp++;
      else c.fn++;
    } else if (flagged) c.fp++;
    else c.tn++;
  }
  return c;
}
