// Page helpers for the end-to-end tests: what a user does, through the UI.
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const SHOTS = process.env.E2E_SCREENSHOTS ?? path.join(tmpdir(), 'differnet-e2e-shots');

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

export async function open(page: Page, baseUrl: string, screen = 'teach'): Promise<void> {
  await page.goto(`${baseUrl}#/${screen}`);
  await waitReady(page);
}

export async function waitReady(page: Page): Promise<void> {
  await page.waitForSelector('main[data-engine="ready"]', { timeout: 120_000 });
}

export async function go(page: Page, screen: string): Promise<void> {
  await page.click(`nav a[href="#/${screen}"]`);
  await page.waitForSelector(`main[data-screen="${screen}"]`);
}

export async function loadWeights(page: Page, file: string): Promise<void> {
  await page.setInputFiles('[data-testid="weights-drop-files"]', file);
  await page.waitForSelector('[data-testid="weights-squeezenet1_1"] .ok-text', { timeout: 120_000 });
}

/** On the Teach screen: a new SqueezeNet model called `name`, its good images dropped, ready to train. */
export async function newModelWithImages(page: Page, name: string, images: string[], countTimeout = 30_000): Promise<void> {
  // With a model already here, the form is behind "+ New model".
  if (!(await page.locator('[data-testid="new-model-name"]').count())) await page.click('button:has-text("+ New model")');
  await page.fill('[data-testid="new-model-name"]', name);
  await page.selectOption('[data-testid="new-model-backbone"]', 'squeezenet1_1');
  await page.click('button:has-text("Create model")');
  await page.waitForSelector('[data-testid="teach-screen"]');
  await page.setInputFiles('[data-testid="teach-drop-files"]', images);
  await page.waitForFunction((n) => document.querySelector('[data-testid="teach-count"]')?.textContent?.startsWith(`${n} good images`), images.length, { timeout: countTimeout });
}

/** On any screen: a new model trained small and fast (one epoch, two scales) on these good images; waits for its threshold. */
export async function trainTiny(page: Page, name: string, images: string[]): Promise<void> {
  await go(page, 'teach');
  await newModelWithImages(page, name, images);
  await fastSettings(page);
  for (const [label, v] of [
    ['Epochs', 1],
    ['Scales', 2],
  ] as const) {
    const input = page.locator(`label.field:has(> span:text-is("${label}"))`).locator('input');
    await input.fill(String(v));
    await input.blur();
  }
  await page.click('[data-testid="train-button"]');
  await page.waitForSelector('[data-testid="threshold"]', { timeout: 600_000 });
}

export async function text(page: Page, selector: string): Promise<string> {
  return (await page.textContent(selector))?.trim() ?? '';
}

export async function numberIn(page: Page, selector: string): Promise<number> {
  const t = await text(page, selector);
  const v = Number.parseFloat(t.replace(/[^\d.eE+-]/g, ''));
  expect(Number.isFinite(v), `${selector} shows a number ("${t}")`).toBe(true);
  return v;
}

/** Fills the settings form with small e2e values: fast on two cores, still the real pipeline. */
export async function fastSettings(page: Page): Promise<void> {
  if (!(await page.locator('[data-testid="settings-details"]').evaluate((d) => (d as HTMLDetailsElement).open))) await page.click('[data-testid="settings-details"] summary');
  await page.selectOption('select[aria-label="Working size"]', '224');
  // Hand-made test parts sit at any angle, so the paper's rotations.
  if (!(await page.isChecked('[data-testid="rotate-toggle"]'))) await page.check('[data-testid="rotate-toggle"]');
  const set = async (label: string, v: number) => {
    const input = page.locator(`label.field:has(> span:text-is("${label}"))`).locator('input');
    await input.fill(String(v));
    await input.blur();
  };
  await set('Epochs', 2);
  await set('Sub-epochs', 4);
  await set('Rotated copies per image', 4);
  await set('Transforms per step', 4);
  await set('Flow blocks', 4);
  await set('Flow width', 128);
  await set('Test transforms', 4);
}

/** RGBA pixels of a canvas on the page. */
export async function canvasPixels(page: Page, selector: string): Promise<{ width: number; height: number; data: number[] }> {
  return page.$eval(selector, (c) => {
    const canvas = c as HTMLCanvasElement;
    const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    return { width: d.width, height: d.height, data: Array.from(d.data) };
  });
}

/**
 * Waits until the page has rendered `n` more animation frames: for checks that something does NOT happen
 * (a retry loop, a frame scored while paused), the app then had that many turns of its event loop to do
 * it, however loaded the machine is; a fixed sleep on a busy machine can pass with the page never run.
 */
export async function animationFrames(page: Page, n: number): Promise<void> {
  await page.evaluate(
    (count) =>
      new Promise<void>((resolve) => {
        let left = count;
        const step = () => (--left <= 0 ? resolve() : requestAnimationFrame(step));
        requestAnimationFrame(step);
      }),
    n,
  );
}

/** Seconds of one training in the app, as the page counted them (features, flow, calibration) and end to end. */
export interface TrainTimes {
  wall: number;
  features: number;
  flow: number;
  calibration: number;
}

/** A new model with `images` on the Teach screen, trained; its training summary's times. */
export async function trainTimed(page: Page, baseUrl: string, name: string, images: string[]): Promise<TrainTimes> {
  await open(page, baseUrl, 'teach');
  await newModelWithImages(page, name, images, 300_000);
  const t0 = performance.now();
  await page.click('[data-testid="train-button"]');
  // The summary, or the error that ends the training (a backend that fails, a lost device).
  await page.waitForSelector('[data-testid="training-summary"], [data-testid="notice-error"]', { timeout: 3_600_000 });
  const error = page.locator('[data-testid="notice-error"]');
  if (await error.count()) throw new Error(`training failed: ${(await error.first().textContent())?.trim()}`);
  const wall = (performance.now() - t0) / 1000;
  const part = async (k: string) => Number(await page.getAttribute('[data-testid="training-summary"]', `data-${k}-seconds`));
  return { wall, features: await part('feature'), flow: await part('flow'), calibration: await part('calibration') };
}

/** Median engine seconds per image of score + map, from the Inspect screen's JSON export of `images`. */
export async function inspectSeconds(page: Page, images: string[], timeout = 600_000): Promise<number> {
  await go(page, 'inspect');
  await page.setInputFiles('[data-testid="inspect-drop-files"]', images);
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="results-table"] tbody tr[data-verdict="OK"], [data-testid="results-table"] tbody tr[data-verdict="DEFECT"]').length >= n, images.length, { timeout });
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-json"]')]);
  const out = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { results: { seconds: number | null }[] };
  // The first image pays for warm-up.
  const s = out.results
    .slice(1)
    .map((r) => r.seconds ?? NaN)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
