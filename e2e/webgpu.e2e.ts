// The real WebGPU backend, on Chromium's SwiftShader adapter: it must not win the start-up choice (it
// emulates a GPU on the CPU), and on a tiny input its features, score and defect map must match WASM's.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launch, type Session } from './browser';
import { loadWeights, open, shot, text } from './app';
import { SQUEEZENET } from './data';

const baseUrl = inject('baseUrl');
/**
 * WebGPU's defect map against WASM's, of the largest value: measured 1.4e-6 on SwiftShader; 1e-3, the
 * features' bound, leaves room for a real GPU's own float32 rounding and still fails a wrong gradient.
 */
const MAP_BOUND = 1e-3;

describe('WebGPU backend', () => {
  let s: Session;
  beforeAll(async () => {
    s = await launch(baseUrl.replace(/\/$/, ''), { args: ['--enable-unsafe-webgpu'] });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('sees the software adapter and does not choose it automatically', async () => {
    await open(s.page, baseUrl, 'models');
    const adapter = await s.page.evaluate(async () => {
      const a = await (navigator as Navigator & { gpu: GPU }).gpu.requestAdapter();
      return a ? `${a.info.vendor} ${a.info.architecture} ${a.info.description}` : null;
    });
    expect(adapter, 'Chromium exposes a WebGPU adapter here').not.toBeNull();
    expect(await s.page.getAttribute('[data-testid="backend-badge"]', 'data-backend')).not.toBe('webgpu');
    expect(await s.page.getAttribute('[data-testid="backend-reason"]', 'title')).toMatch(/software adapter/);
  });

  it('computes the same features, score and defect map on WebGPU as on WASM', async () => {
    const page = s.page;
    await loadWeights(page, SQUEEZENET());
    await page.selectOption('select[aria-label="First backend"]', 'webgpu');
    await page.selectOption('select[aria-label="Second backend"]', 'wasm');
    await page.click('[data-testid="backend-check-run"]');
    const result = page.locator('[data-testid="backend-check-result"]');
    await result.waitFor({ timeout: 300_000 });
    const featureDiff = Number(await result.getAttribute('data-feature-rel-diff'));
    const scoreDiff = Number(await result.getAttribute('data-score-rel-diff'));
    const mapDiff = Number(await result.getAttribute('data-map-rel-diff'));
    const webgpu = Number(await text(page, '[data-testid="score-webgpu"]'));
    const wasm = Number(await text(page, '[data-testid="score-wasm"]'));
    console.log('webgpu vs wasm', { featureDiff, scoreDiff, mapDiff, webgpu, wasm });
    expect(Number.isFinite(webgpu) && Number.isFinite(wasm)).toBe(true);
    expect(featureDiff).toBeLessThan(1e-3);
    expect(scoreDiff).toBeLessThan(1e-3);
    // The defect map (the backward pass through the CNN and the flow) on a 64 px input.
    expect(Number.isFinite(mapDiff)).toBe(true);
    expect(mapDiff).toBeLessThan(MAP_BOUND);
    expect(webgpu).toBeCloseTo(wasm, 3);
    // The user can still insist on WebGPU from the header, and go back to the automatic choice.
    await page.selectOption('[data-testid="backend-choice"]', 'webgpu');
    await expect.poll(() => page.getAttribute('[data-testid="backend-badge"]', 'data-backend'), { timeout: 60_000 }).toBe('webgpu');
    expect(await text(page, '[data-testid="backend-badge"]')).toMatch(/^WEBGPU · .*\(software\)$/);
    await shot(page, '21-webgpu-chosen');
    await page.selectOption('[data-testid="backend-choice"]', 'auto');
    await expect.poll(() => page.getAttribute('[data-testid="backend-badge"]', 'data-backend'), { timeout: 60_000 }).not.toBe('webgpu');
    // The app is back on the backend it chose.
    expect(await page.getAttribute('[data-testid="backend-badge"]', 'data-backend')).not.toBe('webgpu');
    await shot(page, '20-webgpu-check');
    expect(s.problems).toEqual([]);
  });
});
