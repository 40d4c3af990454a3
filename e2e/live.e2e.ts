// The fastest demo, on Chromium's fake camera: teach from ~16 frames of a good part, then see a
// damaged one flagged, all on the Live screen. Plus the camera's failure states.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launch, type Session } from './browser';
import { animationFrames, canvasPixels, go, loadWeights, open, shot, text } from './app';
import { mtd, SQUEEZENET } from './data';
import { writeFakeCameraClip } from './fakeCamera';

const baseUrl = inject('baseUrl');
const origin = baseUrl.replace(/\/$/, '');

async function frames(page: Page): Promise<{ frames: number; score: number; verdict: string }> {
  const el = page.locator('[data-testid="live-verdict"]');
  return {
    frames: Number(await el.getAttribute('data-frames')),
    score: Number(await el.getAttribute('data-score')),
    verdict: (await el.getAttribute('data-verdict')) ?? '',
  };
}

/** Camera frames the video shows while `scored` more frames get scored, counted in the page (no clock). */
async function cameraFramesPerScoring(page: Page, scored: number): Promise<number> {
  return page.evaluate(
    (n) =>
      new Promise<number>((resolve) => {
        const v = document.querySelector('.stage video') as HTMLVideoElement;
        const count = () => Number(document.querySelector('[data-testid="live-verdict"]')!.getAttribute('data-frames'));
        const start = count();
        let shown = 0;
        const step = () => {
          shown++;
          if (count() >= start + n) resolve(shown);
          else v.requestVideoFrameCallback(step);
        };
        v.requestVideoFrameCallback(step);
      }),
    scored,
  );
}

/** Waits until the camera video has shown `n` more frames. */
async function cameraFrames(page: Page, n: number): Promise<void> {
  await page.evaluate(
    (count) =>
      new Promise<void>((resolve) => {
        const v = document.querySelector('.stage video') as HTMLVideoElement;
        let left = count;
        const step = () => (--left <= 0 ? resolve() : v.requestVideoFrameCallback(step));
        v.requestVideoFrameCallback(step);
      }),
    n,
  );
}

/** Drags a region of interest on the video, in fractions of its size. */
async function dragRoi(page: Page, x0: number, y0: number, x1: number, y1: number): Promise<void> {
  const box = (await page.locator('[data-testid="live-overlay"]').boundingBox())!;
  await page.mouse.move(box.x + x0 * box.width, box.y + y0 * box.height);
  await page.mouse.down();
  await page.mouse.move(box.x + ((x0 + x1) / 2) * box.width, box.y + ((y0 + y1) / 2) * box.height, { steps: 3 });
  await page.mouse.move(box.x + x1 * box.width, box.y + y1 * box.height, { steps: 3 });
  await page.mouse.up();
}

// The tests build on each other's state (the taught model): they run in order.
describe.sequential('live inspection on a fake camera', () => {
  let s: Session;
  beforeAll(async () => {
    const clip = writeFakeCameraClip(mtd('train', 'good', 'exp1_num_10181.jpg'), mtd('test', 'fray', 'exp1_num_136254.jpg'));
    s = await launch(origin, { args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${clip}`] });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('teaches from camera frames of a good part, then flags a damaged one, with a live score', async () => {
    const page = s.page;
    await open(page, baseUrl, 'models');
    await loadWeights(page, SQUEEZENET());
    await go(page, 'live');
    await page.click('[data-testid="new-demo-model"]');
    await page.click('button:has-text("Start camera")');
    await expect.poll(() => text(page, '[data-testid="camera-state"]'), { timeout: 30_000 }).toMatch(/^Using /);
    await page.waitForFunction(() => (document.querySelector('.stage video') as HTMLVideoElement | null)?.videoWidth === 640);
    // Region of interest: the good tile on the left.
    await dragRoi(page, 0.03, 0.05, 0.47, 0.95);
    await page.fill('input[aria-label="Frames to capture"]', '16');
    await page.click('[data-testid="capture-good"]');
    await expect.poll(() => text(page, '[data-testid="qt-count"]'), { timeout: 60_000 }).toBe('16 good images');
    await shot(page, '10-live-captured');
    await page.click('[data-testid="live-train"]');
    // Scoring starts by itself once the model is trained.
    await expect.poll(async () => (await frames(page)).frames, { timeout: 300_000, interval: 500 }).toBeGreaterThanOrEqual(3);
    const good: { score: number; verdict: string }[] = [];
    let last = (await frames(page)).frames;
    await expect
      .poll(
        async () => {
          const f = await frames(page);
          if (f.frames > last) good.push(f);
          last = f.frames;
          return good.length >= 4 && new Set(good.map((g) => g.score)).size >= 2;
        },
        { timeout: 180_000, interval: 200 },
      )
      .toBe(true);
    expect(await text(page, '[data-testid="live-fps"]')).toMatch(/^\d+\.\d frames\/s$/);
    // The good part passes (the threshold is the highest score of the frames it was taught from).
    expect(good.map((g) => g.verdict)).toContain('OK');
    await shot(page, '11-live-good');
    // The damaged tile on the right.
    await dragRoi(page, 0.53, 0.05, 0.97, 0.95);
    await expect.poll(async () => (await frames(page)).verdict, { timeout: 120_000, interval: 250 }).toBe('DEFECT');
    const bad = await frames(page);
    console.log('live', { good, bad });
    expect(bad.score).toBeGreaterThan(Math.max(...good.map((g) => g.score)));
    // The heatmap comes from the second engine, on its own cadence: maps arrive while verdicts go on,
    // several verdicts per map, and the overlay shows the map over the damaged tile.
    const maps = () => page.getAttribute('[data-testid="live-maps"]', 'data-maps').then(Number);
    const m0 = await maps();
    const f0 = (await frames(page)).frames;
    await expect.poll(maps, { timeout: 120_000, interval: 250 }).toBeGreaterThanOrEqual(m0 + 2);
    expect((await frames(page)).frames - f0).toBeGreaterThan((await maps()) - m0);
    expect(await text(page, '[data-testid="live-maps"]')).toMatch(/^heatmap \d+\.\d maps\/s$/);
    // Heat inside the region, away from its outline.
    const overlay = await canvasPixels(page, '[data-testid="live-overlay"]');
    let lit = 0;
    for (let y = Math.round(0.15 * overlay.height); y < 0.85 * overlay.height; y++) {
      for (let x = Math.round(0.6 * overlay.width); x < 0.9 * overlay.width; x++) if (overlay.data[(y * overlay.width + x) * 4 + 3] > 0) lit++;
    }
    expect(lit).toBeGreaterThan(0);
    await shot(page, '12-live-defect');
    // Snapshot: a PNG of the frame with its overlay.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="live-snapshot"]')]);
    const png = readFileSync((await download.path())!);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // Pause stops scoring: while the camera shows frames enough for several scorings (at the rate just
    // measured), none is scored. The loop ends with the render that says Paused; a frame in flight is dropped.
    const perTwo = await cameraFramesPerScoring(page, 2);
    await page.click('[data-testid="live-pause"]');
    await expect.poll(() => text(page, '[data-testid="live-verdict"]')).toBe('Paused');
    const paused = (await frames(page)).frames;
    await cameraFrames(page, 2 * perTwo);
    expect((await frames(page)).frames).toBe(paused);
    expect(await text(page, '[data-testid="live-verdict"]')).toBe('Paused');
    expect(s.foreignRequests).toEqual([]);
    expect(s.problems).toEqual([]);
  });
});

describe('camera failures', () => {
  it('says clearly when camera access is denied, without retrying in a loop', async () => {
    const s = await launch(origin, { args: ['--use-fake-device-for-media-stream', '--deny-permission-prompts'] });
    try {
      await open(s.page, baseUrl, 'live');
      // Counts the app's camera requests: a retry loop would make more than one.
      await s.page.evaluate(() => {
        const md = navigator.mediaDevices;
        const ask = md.getUserMedia.bind(md);
        const w = window as unknown as { cameraRequests: number };
        w.cameraRequests = 0;
        md.getUserMedia = (c) => (w.cameraRequests++, ask(c));
      });
      await s.page.click('button:has-text("Start camera")');
      await expect.poll(() => text(s.page, '[data-testid="camera-error"]'), { timeout: 30_000 }).toMatch(/denied/);
      const errorsBefore = s.problems.length;
      await expect.poll(() => text(s.page, 'button:has-text("Start camera")')).toBe('Start camera');
      await animationFrames(s.page, 120);
      expect(await s.page.evaluate(() => (window as unknown as { cameraRequests: number }).cameraRequests)).toBe(1);
      expect(s.problems.length).toBe(errorsBefore);
      await shot(s.page, '13-live-denied');
    } finally {
      await s.close();
    }
  });
});
