import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { choosePlan } from './choose';
import { createExecutionPlan } from './executionPlan';
import { TFJS_ENGINE } from './tfjsEngine';
import { tfjsPoolThreads } from './tfjsThreads';
import { WasmFeatureEngine } from './wasmEngine';
import type { ThreadSpawner } from '../wasm/threads';

describe('choosePlan', () => {
  it("puts the CNN on the WebAssembly kernels on TF.js's CPU backends", () => {
    expect(choosePlan({ backend: 'wasm' }).features).toBe('wasm');
    expect(choosePlan({ backend: 'cpu' }).features).toBe('wasm');
    expect(choosePlan({ backend: 'wasm', hostBackbone: '1' }).features).toBe('wasm');
  });

  it('leaves it to TF.js on GPU backends, whatever DIFFERNET_HOST_BACKBONE says', () => {
    for (const backend of ['webgpu', 'webgl']) {
      const c = choosePlan({ backend });
      expect(c).toMatchObject({ backend, features: 'tfjs' });
      expect(c.reason).toContain(backend);
      expect(choosePlan({ backend, hostBackbone: '1' }).features).toBe('tfjs');
    }
  });

  it('keeps it on TF.js when DIFFERNET_HOST_BACKBONE=0 turns the kernels off', () => {
    const c = choosePlan({ backend: 'wasm', hostBackbone: '0' });
    expect(c.features).toBe('tfjs');
    expect(c.reason).toMatch(/DIFFERNET_HOST_BACKBONE=0/);
  });
});

describe('createExecutionPlan', () => {
  const spawn: ThreadSpawner = () => Promise.reject(new Error('not started in this test'));

  it('gives the WebAssembly engine its threads, and the flow its own', () => {
    const plan = createExecutionPlan({ backend: 'wasm', featureThreads: { helpers: 3, spawn }, flowThreads: { helpers: 5, spawn } });
    expect(plan.backend).toBe('wasm');
    expect(plan.features).toBeInstanceOf(WasmFeatureEngine);
    expect((plan.features as WasmFeatureEngine).threads.helpers).toBe(3);
    expect(plan.flow).toEqual({ runner: 'auto', threads: { helpers: 5, spawn } });
  });

  it('takes the TF.js engine on a GPU backend, and no flow threads where none are given', () => {
    const plan = createExecutionPlan({ backend: 'webgpu', featureThreads: { helpers: 3, spawn } });
    expect(plan.features).toBe(TFJS_ENGINE);
    expect(plan.flow).toEqual({ runner: 'auto' });
  });

  it('reuses the WebAssembly engine it is given, so that a worker changing backends keeps its compiled kernels', () => {
    const wasm = new WasmFeatureEngine({ helpers: 0 });
    expect(createExecutionPlan({ backend: 'wasm', featureThreads: { helpers: 0 }, wasm }).features).toBe(wasm);
    expect(createExecutionPlan({ backend: 'webgl', featureThreads: { helpers: 0 }, wasm }).features).toBe(TFJS_ENGINE);
  });
});

/** Every non-test source file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tsx?$/.test(f) && !/\.test\.tsx?$/.test(f))
    .map((f) => path.join(dir, f));
}

describe('no hidden switch', () => {
  const root = path.resolve(import.meta.dirname, '../../..');

  it('the engine is chosen from the plan, never from a global switch or TF.js backend read deep in core', () => {
    const offenders: string[] = [];
    for (const dir of ['src/core', 'src/worker', 'cli']) {
      for (const file of sources(path.join(root, dir))) {
        const text = readFileSync(file, 'utf8');
        const rel = path.relative(root, file);
        // The old module-level switch and its module.
        if (/\buseHostForward\b|features\/hostForward/.test(text)) offenders.push(`${rel}: the old useHostForward switch`);
        // TF.js's current backend is read where it is set (core/backend.ts) and where a process starts (core/node/backend.ts), nowhere else.
        if (/\bgetBackend\(\)/.test(text) && !['src/core/backend.ts', 'src/core/node/backend.ts'].includes(rel)) offenders.push(`${rel}: reads tf.getBackend()`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it("core's feature engines hold no state at module level: each engine's caches are its own", () => {
    for (const file of sources(path.join(root, 'src/core/execution'))) {
      expect(readFileSync(file, 'utf8'), path.basename(file)).not.toMatch(/^(let|var) /m);
    }
  });
});

describe("TF.js's pool beside the engine's kernels", () => {
  it('takes one thread where the kernels run the work, every core where TF.js does it all', () => {
    expect(tfjsPoolThreads(2, true)).toBe(1);
    expect(tfjsPoolThreads(8, true)).toBe(1);
    expect(tfjsPoolThreads(8, false)).toBe(8);
    expect(tfjsPoolThreads(1, false)).toBe(1);
  });
});
