// Shared input handling: every ranking metric works on the scores of each class, sorted ascending.
// Sorting two typed arrays natively (no comparator, no index objects) is what keeps pixel-scale inputs fast.

export type BinaryLabel = 0 | 1 | boolean;

export function isPositive(label: unknown, i: number): boolean {
  if (label === 1 || label === true) return true;
  if (label === 0 || label === false) return false;
  throw new TypeError(`labels[${i}] must be 0, 1, true or false, got ${String(label)}`);
}

export function checkScore(v: number, i: number): void {
  // NaN has no place in a ranking; letting it through would silently skew every count after it.
  if (Number.isNaN(v)) throw new RangeError(`scores[${i}] is NaN`);
}

export function checkLengths(scores: ArrayLike<number>, labels: ArrayLike<unknown>): void {
  if (scores.length !== labels.length) throw new RangeError(`scores and labels differ in length (${scores.length} vs ${labels.length})`);
}

export interface SortedClasses {
  /** Scores of positives (defects), ascending. */
  pos: Float64Array | Float32Array;
  /** Scores of negatives (good), ascending. */
  neg: Float64Array | Float32Array;
}

export function splitSorted(scores: ArrayLike<number>, labels: ArrayLike<BinaryLabel>): SortedClasses {
  checkLengths(scores, labels);
  let nPos = 0;
  for (let i = 0; i < labels.length; i++) if (isPositive(labels[i], i)) nPos++;
  // Float32 inputs stay Float32: half the memory for pixel maps, and no value changes.
  const Arr = scores instanceof Float32Array ? Float32Array : Float64Array;
  const pos = new Arr(nPos);
  const neg = new Arr(scores.length - nPos);
  let p = 0;
  let q = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    checkScore(v, i);
    if (labels[i] === 1 || labels[i] === true) pos[p++] = v;
    else neg[q++] = v;
  }
  pos.sort();
  neg.sort();
  return { pos, neg };
}

export function requireBothClasses({ pos, neg }: SortedClasses, what: string): void {
  if (pos.length === 0 || neg.length === 0) {
    throw new RangeError(`${what} needs both classes, got ${pos.length} defective and ${neg.length} good samples`);
  }
}
