// Mersenne Twister MT19937, bit-for-bit as numpy's legacy RandomState drives it, so that seeds shared
// with the Python reference code (flow permutations, shuffles) give identical streams in the browser.

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** numpy accepts integer seeds in [0, 2^32 - 1]; anything else is a caller bug, not something to wrap silently. */
export function checkSeed(seed: number, what = 'seed'): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`${what} must be an integer in [0, 2^32 - 1], got ${seed}`);
  }
  return seed;
}

export class MT19937 {
  private readonly mt = new Uint32Array(N);
  private pos = N;

  /**
   * An integer seed matches `numpy.random.RandomState(seed)`, which uses `init_genrand` (numpy's
   * `mt19937_seed`), not `init_by_array([seed])`: the two give different streams. An array seed matches
   * `RandomState([k0, k1, ...])` (and CPython's `random.seed(int)` for one small key) via `init_by_array`.
   */
  constructor(seed: number | ArrayLike<number>) {
    if (typeof seed === 'number') this.initGenrand(checkSeed(seed));
    else this.initByArray(seed);
  }

  /** The 624-word key and position, as the second and third items of numpy's `get_state()`. */
  getState(): { key: Uint32Array; pos: number } {
    return { key: this.mt.slice(), pos: this.pos };
  }

  randomUint32(): number {
    if (this.pos >= N) this.generate();
    let y = this.mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** numpy's `legacy_double` / `random_sample`: 53 random bits from two draws, in [0, 1). */
  randomDouble(): number {
    const a = this.randomUint32() >>> 5;
    const b = this.randomUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  private initGenrand(seed: number): void {
    const mt = this.mt;
    mt[0] = seed;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // Math.imul keeps the product's low 32 bits exact; a float multiply would lose them.
      mt[i] = Math.imul(1812433253, prev) + i;
    }
    this.pos = N;
  }

  private initByArray(key: ArrayLike<number>): void {
    if (key.length === 0) throw new RangeError('seed array must be non-empty');
    for (let j = 0; j < key.length; j++) checkSeed(key[j], `seed[${j}]`);
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) >>> 0) + key[j] + j;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) >>> 0) - i;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.pos = N;
  }

  private generate(): void {
    const mt = this.mt;
    let kk = 0;
    for (; kk < N - M; kk++) {
      const y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; kk < N - 1; kk++) {
      const y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
      mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
    mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.pos = 0;
  }
}
