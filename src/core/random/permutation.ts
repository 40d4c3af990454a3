// numpy's legacy shuffle, so flow permutations match `RandomState(k).permutation(n)` in the reference code.
import { MT19937 } from './mt19937';

/**
 * A uniform integer in [0, max], as numpy's `random_interval` / `rk_interval`: draws masked to the
 * smallest 2^k - 1 >= max and rejected while above max. Reproducing the rejection loop, not just the
 * distribution, is what keeps later draws aligned with numpy.
 */
export function randomInterval(rng: MT19937, max: number): number {
  if (!Number.isInteger(max) || max < 0 || max > 0xffffffff) {
    // numpy switches to 64-bit draws above 2^32 - 1; nothing here needs ranges that large.
    throw new RangeError(`randomInterval max must be an integer in [0, 2^32 - 1], got ${max}`);
  }
  if (max === 0) return 0;
  let mask = max;
  mask |= mask >>> 1;
  mask |= mask >>> 2;
  mask |= mask >>> 4;
  mask |= mask >>> 8;
  mask |= mask >>> 16;
  mask >>>= 0;
  let value: number;
  do value = (rng.randomUint32() & mask) >>> 0;
  while (value > max);
  return value;
}

/** In-place Fisher-Yates from the end, drawing exactly as numpy's legacy `RandomState.shuffle` on a 1-d array. */
export function numpyShuffle<T extends { length: number; [i: number]: unknown }>(arr: T, rng: MT19937): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = randomInterval(rng, i);
    const t = arr[i];
    arr[i] = arr[j];
    arr[j] = t;
  }
  return arr;
}

/** A shuffled 0..n-1 drawn from `rng`, as `RandomState.permutation(n)`. */
export function permutationFrom(n: number, rng: MT19937): Int32Array {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`permutation length must be a non-negative integer, got ${n}`);
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return numpyShuffle(p, rng);
}

/** `numpy.random.RandomState(seed).permutation(n)`. */
export function numpyPermutation(n: number, seed: number): Int32Array {
  return permutationFrom(n, new MT19937(seed));
}

/** q with q[p[i]] = i; throws if p is not a permutation of 0..n-1, since a silent duplicate would corrupt the flow. */
export function inversePermutation(p: ArrayLike<number>): Int32Array {
  const n = p.length;
  const q = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const v = p[i];
    if (!Number.isInteger(v) || v < 0 || v >= n || q[v] !== -1) throw new RangeError(`not a permutation of 0..${n - 1}: p[${i}] = ${v}`);
    q[v] = i;
  }
  return q;
}
