// Ranking metrics: AUROC as the Mann-Whitney statistic and the ROC curve, from class-wise sorted scores.
import { requireBothClasses, splitSorted, type BinaryLabel, type SortedClasses } from './split';

/** P(score of a random defect > score of a random good sample), ties counting 1/2. */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<BinaryLabel>): number {
  const classes = splitSorted(scores, labels);
  requireBothClasses(classes, 'AUROC');
  return aurocSorted(classes);
}

/** AUROC from ascending class-wise scores, in one merge pass: O(P + N) however many ties there are. */
export function aurocSorted({ pos, neg }: SortedClasses): number {
  const nNeg = neg.length;
  // Twice the U statistic stays an integer, exact in a double up to 2^53 (far beyond any pixel count squared).
  let twiceU = 0;
  let below = 0;
  let i = 0;
  while (i < pos.length) {
    const v = pos[i];
    let group = 0;
    while (i < pos.length && pos[i] === v) {
      group++;
      i++;
    }
    while (below < nNeg && neg[below] < v) below++;
    let upTo = below;
    while (upTo < nNeg && neg[upTo] === v) upTo++;
    twiceU += group * (2 * below + (upTo - below));
    below = upTo;
  }
  return twiceU / (2 * pos.length * nNeg);
}

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Score >= threshold is called a defect at that point; the first threshold is +Infinity. */
  thresholds: number[];
}

/** sklearn's `roc_curve(..., drop_intermediate=False)`: one point per distinct score, from (0, 0) at +Infinity. */
export function rocCurve(scores: ArrayLike<number>, labels: ArrayLike<BinaryLabel>): RocCurve {
  const classes = splitSorted(scores, labels);
  requireBothClasses(classes, 'the ROC curve');
  const { pos, neg } = classes;
  const fpr = [0];
  const tpr = [0];
  const thresholds = [Infinity];
  let ip = pos.length - 1;
  let ineg = neg.length - 1;
  while (ip >= 0 || ineg >= 0) {
    const t = Math.max(ip >= 0 ? pos[ip] : -Infinity, ineg >= 0 ? neg[ineg] : -Infinity);
    while (ip >= 0 && pos[ip] === t) ip--;
    while (ineg >= 0 && neg[ineg] === t) ineg--;
    fpr.push((neg.length - 1 - ineg) / neg.length);
    tpr.push((pos.length - 1 - ip) / pos.length);
    thresholds.push(t);
  }
  return { fpr, tpr, thresholds };
}

/**
 * At most `maxPoints` points of a curve for charts, always keeping both ends. Points are picked by
 * distance travelled along fpr + tpr, so steep and flat stretches keep their corners alike.
 */
export function downsampleRoc(curve: RocCurve, maxPoints: number): RocCurve {
  if (!Number.isInteger(maxPoints) || maxPoints < 2) throw new RangeError(`maxPoints must be an integer >= 2, got ${maxPoints}`);
  const n = curve.fpr.length;
  if (n <= maxPoints) return { fpr: curve.fpr.slice(), tpr: curve.tpr.slice(), thresholds: curve.thresholds.slice() };
  const keep = [0];
  const step = maxPoints > 2 ? 2 / (maxPoints - 2) : Infinity;
  let last = curve.fpr[0] + curve.tpr[0];
  for (let i = 1; i < n - 1; i++) {
    const s = curve.fpr[i] + curve.tpr[i];
    if (s >= last + step) {
      keep.push(i);
      last = s;
    }
  }
  keep.push(n - 1);
  return { fpr: keep.map((i) => curve.fpr[i]), tpr: keep.map((i) => curve.tpr[i]), thresholds: keep.map((i) => curve.thresholds[i]) };
}
