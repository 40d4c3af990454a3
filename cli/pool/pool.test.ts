// The worker pool outlives a worker that dies mid-job (an out-of-memory abort on a huge image, say): the
// job it held fails with a clear error naming the file, and later jobs still run.
import { mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedPath } from '../../test/support/shared';
import { encodePng } from '../io/decode';
import { createExecutionPlan } from '../../src/core/execution/executionPlan';
import { EnginePool } from './pool';
import type { JobResult } from './protocol';

/** With worker threads, each chooses its own plan: this process's is not used. */
const WORKERS_CHOOSE = createExecutionPlan({ backend: 'wasm', featureThreads: { helpers: 0 } });

let dir: string;
let image: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pool-'));
  image = path.join(dir, 'plain.png');
  writeFileSync(image, encodePng({ width: 32, height: 32, data: Uint8Array.from({ length: 32 * 32 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256)) }));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The job's outcome, or 'still pending' once `ms` have passed (the old pool never settled it). */
function within<T>(job: Promise<T>, ms: number): Promise<T | 'still pending'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still pending'>((resolve) => (timer = setTimeout(() => resolve('still pending'), ms)));
  return Promise.race([job, late]).finally(() => clearTimeout(timer));
}

describe('EnginePool when a worker thread dies', () => {
  it('fails the job the dead worker held, replaces the worker, and runs later jobs', async () => {
    const pool = await EnginePool.create({ kind: 'backbone', weightsPath: sharedPath('weights', 'squeezenet1_1-imagenet.pth'), features: { size: 64, scales: 1 } }, WORKERS_CHOOSE, 2);
    try {
      const specs = [{ angle: 0 }];
      const warm = await pool.run({ kind: 'copies', imagePath: image, specs });
      expect(warm.ok).toBe(true);

      const job = pool.run({ kind: 'copies', imagePath: image, specs });
      const { all, busy } = pool.threadsForTest();
      expect(all.length).toBe(2);
      expect(busy.length).toBe(1);
      // As an out-of-memory abort would: the thread holding the job goes away before it answers.
      await busy[0].terminate();

      const failed = await within(job, 20_000);
      expect(failed).not.toBe('still pending');
      const r = failed as JobResult;
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error).toContain(image);
      expect(r.error).toMatch(/worker thread .*stopped .*exit code 1/);

      // Later jobs, more than one worker's worth at once, all succeed (the survivor and the replacement share them).
      const later = await within(Promise.all(Array.from({ length: 4 }, () => pool.run({ kind: 'copies', imagePath: image, specs }))), 60_000);
      expect(later).not.toBe('still pending');
      for (const l of later as JobResult[]) expect(l.ok, l.ok ? '' : l.error).toBe(true);
      // The replacement joins once its engine is up.
      await expect.poll(() => pool.threadsForTest().all.length, { timeout: 60_000 }).toBe(2);
      expect(pool.threadsForTest().all).not.toContain(busy[0]);
      const last = await within(pool.run({ kind: 'copies', imagePath: image, specs }), 30_000);
      expect(last).toMatchObject({ ok: true });
    } finally {
      await pool.close();
    }
  });

  it('fails queued jobs plainly when no worker can be started again', async () => {
    // Replacements start from the same weights file: once it is gone, a replacement cannot start.
    const weightsPath = path.join(dir, 'soon-gone.pth');
    symlinkSync(sharedPath('weights', 'squeezenet1_1-imagenet.pth'), weightsPath);
    const pool = await EnginePool.create({ kind: 'backbone', weightsPath, features: { size: 64, scales: 1 } }, WORKERS_CHOOSE, 2);
    try {
      unlinkSync(weightsPath);
      const jobs = Array.from({ length: 3 }, () => pool.run({ kind: 'copies', imagePath: image, specs: [{ angle: 0 }] }));
      await Promise.all(pool.threadsForTest().all.map((w) => w.terminate()));
      const results = await within(Promise.all(jobs), 30_000);
      expect(results).not.toBe('still pending');
      for (const r of results as JobResult[]) {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toMatch(/worker thread|no worker/);
      }
      const next = await within(pool.run({ kind: 'copies', imagePath: image, specs: [{ angle: 0 }] }), 10_000);
      expect(next).toMatchObject({ ok: false, error: expect.stringMatching(/no worker thread left/) });
    } finally {
      await pool.close();
    }
  });
});
