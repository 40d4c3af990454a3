import { describe, expect, it } from 'vitest';
import { readReference } from '../../../test/support/shared';
import { inversePermutation, MT19937, numpyPermutation, RandomState, randomInterval, seededNormal, seededRandom } from '.';

// Expected values below come from numpy 2.4.6 (legacy RandomState), e.g.
// python3 -c "import numpy as np; print(np.random.RandomState(5).permutation(10).tolist())"

const draws = (rng: MT19937, n: number) => Array.from({ length: n }, () => rng.randomUint32());

describe('MT19937', () => {
  it('seeds an integer with init_genrand, as RandomState(int) does', () => {
    // Canonical default seed of the reference implementation.
    expect(draws(new MT19937(5489), 3)).toEqual([3499211612, 581869302, 3890346734]);
    // RandomState(5).randint(0, 2**32, size=5, dtype=np.uint32)
    expect(draws(new MT19937(5), 5)).toEqual([953453411, 236996814, 3739766767, 3570525885, 887852006]);
    const { key, pos } = new MT19937(5).getState();
    expect([...key.slice(0, 3)]).toEqual([5, 472231674, 2253902500]);
    expect(pos).toBe(624);
  });

  it('seeds an array with init_by_array, as RandomState([..]) does', () => {
    expect(draws(new MT19937([5]), 3)).toEqual([2675342405, 1097127993, 3185950873]);
    // mt19937ar.c's own test vector.
    expect(draws(new MT19937([0x123, 0x234, 0x345, 0x456]), 3)).toEqual([1067595299, 955945823, 477289528]);
  });

  it('gives 53-bit doubles equal to random_sample', () => {
    const r0 = new MT19937(0);
    expect([r0.randomDouble(), r0.randomDouble(), r0.randomDouble()]).toEqual([0.5488135039273248, 0.7151893663724195, 0.6027633760716439]);
    const r = seededRandom(12345);
    expect([r(), r(), r()]).toEqual([0.9296160928171479, 0.3163755545817859, 0.18391881167709445]);
  });

  it('rejects seeds numpy rejects', () => {
    for (const bad of [-1, 1.5, 2 ** 32, NaN]) expect(() => new MT19937(bad)).toThrow(RangeError);
    expect(() => new MT19937([])).toThrow(RangeError);
    expect(() => new MT19937(2 ** 32 - 1)).not.toThrow();
  });
});

describe('numpyPermutation', () => {
  it('matches the 8 flow permutations of the reference (RandomState(k).permutation(768))', () => {
    const ref = readReference();
    expect(ref.flow.permutations).toHaveLength(8);
    ref.flow.permutations.forEach((p, k) => expect(Array.from(numpyPermutation(768, k))).toEqual(p));
  });

  it('matches numpy on small and larger sizes', () => {
    expect(Array.from(numpyPermutation(10, 5))).toEqual([9, 5, 2, 4, 7, 1, 0, 8, 6, 3]);
    expect(Array.from(numpyPermutation(10, 0))).toEqual([2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
    expect(Array.from(numpyPermutation(0, 1))).toEqual([]);
    expect(Array.from(numpyPermutation(1, 123))).toEqual([0]);
    expect(Array.from(numpyPermutation(2, 123))).toEqual([1, 0]);
    expect(Array.from(numpyPermutation(3, 7))).toEqual([2, 1, 0]);

    const checksum = (p: Int32Array) => p.reduce((s, v, i) => s + i * v, 0);
    const p1536 = numpyPermutation(1536, 42);
    expect(checksum(p1536)).toBe(908535854);
    expect(Array.from(p1536.slice(0, 20))).toEqual([1159, 76, 316, 1040, 1357, 924, 757, 1505, 964, 1197, 1087, 678, 371, 1487, 1157, 1531, 1001, 30, 49, 240]);
    expect(Array.from(p1536.slice(-5))).toEqual([1130, 1294, 860, 1459, 1126]);

    const pMax = numpyPermutation(1000, 2 ** 32 - 1);
    expect(checksum(pMax)).toBe(249935792);
    expect(Array.from(pMax.slice(0, 10))).toEqual([94, 405, 819, 632, 217, 169, 449, 275, 165, 828]);
  });

  it('RandomState.permutation continues the same stream as random_sample', () => {
    const rs = new RandomState(5);
    expect(Array.from(rs.permutation(10))).toEqual([9, 5, 2, 4, 7, 1, 0, 8, 6, 3]);
  });

  it('randomInterval(0) draws nothing', () => {
    const a = new MT19937(9);
    const b = new MT19937(9);
    expect(randomInterval(a, 0)).toBe(0);
    expect(a.randomUint32()).toBe(b.randomUint32());
  });

  it('inversePermutation inverts and refuses non-permutations', () => {
    const p = numpyPermutation(768, 3);
    const q = inversePermutation(p);
    for (let i = 0; i < p.length; i++) expect(q[p[i]]).toBe(i);
    expect(() => inversePermutation([0, 0, 1])).toThrow(RangeError);
    expect(() => inversePermutation([0, 3, 1])).toThrow(RangeError);
  });
});

describe('normals', () => {
  it('follow numpy standard_normal (polar method with its cached pair)', () => {
    const n = seededNormal(0);
    const expected = [1.764052345967664, 0.4001572083672233, 0.9787379841057392, 2.240893199201458, 1.8675579901499675];
    for (const e of expected) expect(n()).toBeCloseTo(e, 14);
    // Interleaving shows the cache and the uniform draws share one stream, as in numpy.
    const rs = new RandomState(3);
    const got = [rs.randomSample(), rs.standardNormal(), rs.randomSample(), rs.standardNormal(), rs.standardNormal()];
    const want = [0.5507979025745755, -1.0294714740051425, 0.510827605197663, 1.0248068016826362, -0.27738820251439905];
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 14));
  });
});
