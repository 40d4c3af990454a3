import { afterAll, describe, expect, it, vi } from 'vitest';
import { GemmRunner, stopHelperPools, type ThreadSpawner } from './threads';
import { nodeThreadSpawner } from '../node/threads';
import { Helper } from './helperPool';

// One pool of helper threads per spawner (per worker or process): runners share its threads, each on its
// own memory, and a pool whose helper failed is retired so that the next runner starts fresh threads.

function sines(n: number, seed: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));
}

/** C = A B with A 6 x 20 and B 20 x 32 at the start of the runner's memory; returns C. */
function product(run: GemmRunner, seed: number): number[] {
  const [m, k, n] = [6, 20, 32];
  run.f32.set(sines(m * k, seed), 0);
  run.f32.set(sines(k * n, seed + 1), m * k);
  const c = m * k + k * n;
  run.nn(0, k, 1, 4 * m * k, n, 4 * c, n, m, n, k);
  return Array.from(run.f32.subarray(c, c + m * n));
}

describe('the helper pool', () => {
  let spawned = 0;
  const counting: ThreadSpawner = (source, init) => {
    spawned++;
    return nodeThreadSpawner(source, init);
  };
  afterAll(() => stopHelperPools());

  it('runners of one spawner share its threads, each computing on its own memory', async () => {
    const alone = await GemmRunner.create(1 << 16, 0);
    const a = await GemmRunner.create(1 << 16, 2, counting);
    const b = await GemmRunner.create(1 << 17, 2, counting);
    expect(spawned).toBe(2);
    expect([a.threads, b.threads]).toEqual([3, 3]);
    // Interleaved, as the backbone's and the flow's calls are during training.
    for (const seed of [1, 2, 3]) {
      expect(product(a, seed)).toEqual(product(alone, seed));
      expect(product(b, seed + 10)).toEqual(product(alone, seed + 10));
    }
    a.dispose();
    expect(product(b, 7)).toEqual(product(alone, 7));
    // A runner asking for more helpers grows the pool by the difference.
    const c = await GemmRunner.create(1 << 16, 3, counting);
    expect([spawned, c.threads]).toEqual([3, 4]);
    expect(product(c, 5)).toEqual(product(alone, 5));
    expect(product(b, 5)).toEqual(product(alone, 5));
    for (const r of [alone, b, c]) r.dispose();
  });

  it('a helper that fails names its kernel, and the next runner gets fresh threads', async () => {
    const before = spawned;
    const run = await GemmRunner.create(1 << 16, 1, counting);
    expect(spawned).toBe(before);
    // One row of 16 columns written at the memory's last 32 bytes: this thread's 8 columns fit, the
    // helper's 8 fall outside the memory and trap.
    expect(() => run.nn(1024, 4, 1, 0, 16, 65536 - 32, 16, 1, 16, 4)).toThrow(/kernel helper thread failed while computing its share of nn/);
    // The runner goes on alone on this thread (a flow attached to the same pool keeps training).
    const alone = await GemmRunner.create(1 << 16, 0);
    expect(run.threads).toBe(1);
    expect(product(run, 3)).toEqual(product(alone, 3));
    run.dispose();
    const fresh = await GemmRunner.create(1 << 16, 1, counting);
    expect([spawned, fresh.threads]).toEqual([before + 1, 2]);
    expect(product(fresh, 4)).toEqual(product(alone, 4));
    fresh.dispose();
    alone.dispose();
  });

  it('a runner limited to one thread posts nothing to its helpers, gives the same numbers, and gets its threads back', async () => {
    const alone = await GemmRunner.create(1 << 16, 0);
    const run = await GemmRunner.create(1 << 16, 1, counting);
    const posts = vi.spyOn(Helper.prototype, 'post');
    try {
      const limited = run.limited(1, () => {
        expect(run.threads).toBe(1);
        return product(run, 9);
      });
      expect(posts).not.toHaveBeenCalled();
      expect(limited).toEqual(product(alone, 9));
      expect(run.threads).toBe(2);
      // Without a limit the same product is split: the helper takes its columns.
      expect(product(run, 9)).toEqual(limited);
      expect(posts).toHaveBeenCalledTimes(1);
      // A job that throws leaves the runner's threads as they were; a limit above the runner's threads changes nothing.
      expect(() => run.limited(1, () => { throw new Error('boom'); })).toThrow('boom');
      expect(run.threads).toBe(2);
      expect(run.limited(4, () => run.threads)).toBe(2);
      expect(run.limited(undefined, () => run.threads)).toBe(2);
      expect(() => run.limited(0, () => undefined)).toThrow(/thread limit must be a whole number of at least 1, not 0/);
      expect(() => run.limited(1.5, () => undefined)).toThrow(/not 1\.5/);
    } finally {
      posts.mockRestore();
      run.dispose();
      alone.dispose();
    }
  });
});
