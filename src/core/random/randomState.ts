// A small slice of numpy's legacy RandomState, for reproducible shuffles, rotations and weight init.
import { MT19937 } from './mt19937';
import { numpyShuffle, permutationFrom, randomInterval } from './permutation';

export class RandomState {
  readonly mt: MT19937;
  // numpy's polar method yields normals in pairs and caches the second; keeping the cache keeps the stream aligned.
  private gauss: number | null = null;

  constructor(seed: number | ArrayLike<number>) {
    this.mt = new MT19937(seed);
  }

  /** `random_sample()`: uniform in [0, 1) with 53 random bits. */
  randomSample(): number {
    return this.mt.randomDouble();
  }

  /** `standard_normal()` (legacy_gauss, Marsaglia polar method). Equal to numpy up to the last ulp of log/sqrt. */
  standardNormal(): number {
    if (this.gauss !== null) {
      const g = this.gauss;
      this.gauss = null;
      return g;
    }
    let x1: number;
    let x2: number;
    let r2: number;
    do {
      x1 = 2 * this.mt.randomDouble() - 1;
      x2 = 2 * this.mt.randomDouble() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.gauss = f * x1;
    return f * x2;
  }

  /** Uniform integer in [0, max] (numpy's `random_interval`). */
  randomInterval(max: number): number {
    return randomInterval(this.mt, max);
  }

  /** `shuffle(arr)` for a 1-d array, in place. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    return numpyShuffle(arr, this.mt);
  }

  /** `permutation(n)`. */
  permutation(n: number): Int32Array {
    return permutationFrom(n, this.mt);
  }
}

/** Uniform [0, 1) source equal to `numpy.random.RandomState(seed).random_sample()` calls. */
export function seededRandom(seed: number): () => number {
  const rs = new RandomState(seed);
  return () => rs.randomSample();
}

/** Standard normal source equal to `numpy.random.RandomState(seed).standard_normal()` calls. */
export function seededNormal(seed: number): () => number {
  const rs = new RandomState(seed);
  return () => rs.standardNormal();
}
