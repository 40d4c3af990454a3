// The fastest demo, on Chromium's fake camera: teach from ~16 frames of a good part, then see a
// damaged one flagged, all on the Live screen. Plus the camera's failure states.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launch, type Session } from './browser';
import { animationFrames, canvasPixels, go, loadWeights, open, shot, SHOTS, text } from './app';
import { mtd, squareTrainingSet, SQUEEZENET, tempDir } from './data';
import { readGrey, squareOf, writeCentredPartClip, writeFakeCameraClip } from './fakeCamera';

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
    const clip = writeFakeCameraClip(mtd('train', 'good', 'exp1_num_10181.jpg'), mtd('test', 'break', 'exp2_num_284506.jpg'));
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
    // The panel says how many frames the default rate needs, and why.
    expect(await text(page, '[data-testid="qt-minimum"]')).toMatch(/at least 93 frames for 5 % false alarms.*19 held-out frames/);
    await page.fill('input[aria-label="Frames to capture"]', '16');
    await page.click('[data-testid="capture-good"]');
    await expect.poll(() => text(page, '[data-testid="qt-count"]'), { timeout: 60_000 }).toBe('16 good images');
    // 16 frames hold out 3: the panel says what they can promise instead.
    expect(await text(page, '[data-testid="qt-minimum"]')).toMatch(/16 frames hold out 3, which can promise 25 % at best/);
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
    expect(await text(page, '[data-testid="live-fps"]')).toMatch(/^\d+\.\d verdicts\/s$/);
    // After training, frames no part of training saw are scored, and the promise is the one 3 held-out frames support.
    await expect.poll(() => text(page, '[data-testid="qt-check"]'), { timeout: 180_000, interval: 500 }).toMatch(/^Flagged \d+ of 12 new good frames/);
    expect(await text(page, '[data-testid="qt-result"]')).toMatch(/Threshold set on 3 held-out frames: at most 25 % false alarms/);
    console.log('quick teach check', await text(page, '[data-testid="qt-check"]'));
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
    // more verdicts than maps (each map is a verdict too), and the overlay shows the map over the damaged tile.
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
    await expect.poll(() => text(page, '[data-testid="live-verdict"]')).toMatch(/^Paused · last frame (OK|DEFECT) · score >?\d\.\d{3}$/);
    const paused = (await frames(page)).frames;
    await cameraFrames(page, 2 * perTwo);
    expect((await frames(page)).frames).toBe(paused);
    expect(await text(page, '[data-testid="live-verdict"]')).toMatch(/^Paused/);
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

/** Starts recording every scored frame's verdict in the page (a MutationObserver: no frame is missed by polling). */
async function recordVerdicts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid="live-verdict"]')!;
    const w = window as unknown as { verdicts: string[]; scored: { t: number; ms: number }[]; lastFrames: number };
    w.verdicts = [];
    w.scored = [];
    w.lastFrames = Number(el.getAttribute('data-frames'));
    new MutationObserver(() => {
      const f = Number(el.getAttribute('data-frames'));
      if (f > w.lastFrames && el.getAttribute('data-verdict')) {
        w.verdicts.push(el.getAttribute('data-verdict')!);
        w.scored.push({ t: performance.now(), ms: Number(el.getAttribute('data-score-ms')) });
      }
      w.lastFrames = f;
    }).observe(el, { attributes: true });
  });
}

/**
 * Verdicts per second over the recorded frames (the map lane's included), and that times the mean engine
 * time of a score: the verdicts' share of the engine (1 = as many verdicts as scores back to back would
 * give; the issue asks for at least 0.8 with maps on). A verdict shown from a map carries no score time.
 */
async function cadence(page: Page): Promise<{ perSecond: number; share: number }> {
  return page.evaluate(() => {
    const s = (window as unknown as { scored: { t: number; ms: number }[] }).scored;
    const perSecond = ((s.length - 1) * 1000) / (s[s.length - 1].t - s[0].t);
    const scores = s.filter((x) => x.ms > 0);
    return { perSecond, share: (perSecond * scores.reduce((a, x) => a + x.ms, 0)) / scores.length / 1000 };
  });
}

async function verdicts(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { verdicts: string[] }).verdicts);
}

async function sizes(page: Page, widths: number[], name: string): Promise<void> {
  for (const width of widths) {
    await page.setViewportSize({ width, height: width < 600 ? 844 : 1000 });
    await animationFrames(page, 3);
    await shot(page, `${name}-${width}`);
  }
  await page.setViewportSize({ width: 1400, height: 1000 });
}

// The workstation case of issue 19: a model trained by the CLI on square photos and imported, a 4:3 camera
// that shows the same kind of part centred at full height with more surface either side, and no region
// drawn. The app must frame each frame as the photos were (their centred square) by itself.
describe.sequential('a workstation: square training photos, a 4:3 camera, no region drawn', () => {
  let model: string;
  const clips: Record<'good' | 'defect', string> = { good: '', defect: '' };
  const measured: Record<string, unknown> & { goodCadence?: { perSecond: number; share: number } } = {};

  beforeAll(() => {
    clips.good = writeCentredPartClip(mtd('test', 'good', 'exp1_num_11276.jpg'), 'good');
    clips.defect = writeCentredPartClip(mtd('test', 'blowhole', 'exp1_num_40410.jpg'), 'blowhole');
    // A model file this spec trained before (E2E_SQUARE_MODEL), to rerun the browser part without 3 minutes of training.
    if (process.env.E2E_SQUARE_MODEL && existsSync(process.env.E2E_SQUARE_MODEL)) {
      model = process.env.E2E_SQUARE_MODEL;
      return;
    }
    const data = squareTrainingSet(120, (f) => squareOf(readGrey(f)));
    model = path.join(tempDir('cli-model'), 'square.differnet');
    execFileSync(process.execPath, [path.join('node_modules', 'tsx', 'dist', 'cli.mjs'), 'cli/main.ts', 'train', '--data', data, '--backbone', 'squeezenet1_1', '--weights', SQUEEZENET(), '--out', model, '--name', 'MTD squares (CLI)'], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DIFFERNET_THREADS: '2', DIFFERNET_FLOW_THREADS: '2' },
    });
    console.log('square model', model);
  }, 600_000);

  afterAll(() => {
    console.log('workstation', measured);
  });

  async function station(clip: string, run: (page: Page, s: Session) => Promise<void>): Promise<void> {
    const s = await launch(origin, { args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${clip}`] });
    try {
      const page = s.page;
      await open(page, baseUrl, 'models');
      await loadWeights(page, SQUEEZENET());
      await page.setInputFiles('[data-testid="model-import-files"]', model);
      await page.locator('[data-testid="model-row"][data-model-name="MTD squares (CLI)"]').waitFor({ timeout: 120_000 });
      await go(page, 'live');
      await page.click('button:has-text("Start camera")');
      await page.waitForFunction(() => (document.querySelector('.stage video') as HTMLVideoElement | null)?.videoWidth === 640, undefined, { timeout: 60_000 });
      // No region drawn: the centred square, like the photos, and the app says the framing matches.
      await expect.poll(() => page.getAttribute('[data-testid="live-framing"]', 'data-framing-ok'), { timeout: 30_000 }).toBe('yes');
      expect(await text(page, '[data-testid="live-framing"]')).toMatch(/\(1:1 of the 4:3 frame\).*training images \(1:1\)/);
      await expect.poll(async () => Number(await page.getAttribute('[data-testid="live-verdict"]', 'data-frames')), { timeout: 180_000, interval: 250 }).toBeGreaterThanOrEqual(1);
      await recordVerdicts(page);
      await run(page, s);
      expect(s.foreignRequests).toEqual([]);
      expect(s.problems).toEqual([]);
    } finally {
      await s.close();
    }
  }

  async function scoredFrames(page: Page, n: number): Promise<string[]> {
    await expect.poll(async () => (await verdicts(page)).length, { timeout: 300_000, interval: 250 }).toBeGreaterThanOrEqual(n);
    return verdicts(page);
  }

  it('passes a good part on >= 90 % of frames, with heatmaps, counts, and a snapshot of the scored frame', async () => {
    await station(clips.good, async (page) => {
      const counts0 = Number(await page.getAttribute('[data-testid="station-counts"]', 'data-pass'));
      const v = await scoredFrames(page, 30);
      const ok = v.filter((x) => x === 'OK').length / v.length;
      measured.goodOk = ok;
      measured.goodFrames = v.length;
      expect(ok).toBeGreaterThanOrEqual(0.9);
      // Heatmaps from the weights loaded on the weights panel (never cached in this browser before).
      await expect.poll(() => page.getAttribute('[data-testid="live-maps"]', 'data-maps').then(Number), { timeout: 180_000, interval: 500 }).toBeGreaterThanOrEqual(2);
      expect(await page.locator('[data-testid="live-map-error"]').count()).toBe(0);
      measured.goodVerdictsPerSecond = await text(page, '[data-testid="live-fps"]');
      // Cadence: verdicts per second times one verdict's engine time (1 = the engine never idles), heatmap on.
      measured.goodCadence = await cadence(page);
      // The maps on their own engine leave the verdicts at least 0.8 of the engine's time (a ratio, so a
      // slow or busy machine moves both of its factors).
      expect(measured.goodCadence.share).toBeGreaterThanOrEqual(0.8);
      measured.goodMapsPerSecond = await text(page, '[data-testid="live-maps"]');
      // The counters count the passes.
      expect(Number(await page.getAttribute('[data-testid="station-counts"]', 'data-pass'))).toBeGreaterThan(counts0);
      // Live's drift check reads the same trail as Inspect's: 30 scored frames are enough to test, and it names its test.
      await expect.poll(() => page.getAttribute('[data-testid="live-drift"] [data-testid="drift"]', 'data-status'), { timeout: 30_000, interval: 500 }).toMatch(/^(ok|watch|drift)$/);
      expect(await text(page, '[data-testid="live-drift"]')).toMatch(/one-sided binomial/);
      expect(await text(page, '[data-testid="live-drift"] [data-testid="drift-headline"]')).toMatch(/^(No drift seen|Watch: .+|Probable drift)$/);
      await sizes(page, [1440, 390], '20-live-good');
      await page.locator('[data-testid="station"]').scrollIntoViewIfNeeded();
      await sizes(page, [1440, 390], '21-live-station-counts');
      // Paused: the picture stops on the frame the verdict belongs to, in a neutral banner.
      await page.click('[data-testid="live-pause"]');
      await expect.poll(() => text(page, '[data-testid="live-verdict"]')).toMatch(/^Paused · last frame (OK|DEFECT) · score >?\d\.\d{3}$/);
      const frozen = await canvasPixels(page, '[data-testid="live-frozen"]');
      expect([frozen.width, frozen.height]).toEqual([640, 480]);
      const bannerColour = await page.$eval('[data-testid="live-verdict"]', (el) => getComputedStyle(el).backgroundColor);
      expect(bannerColour).not.toBe('rgb(185, 28, 28)');
      await sizes(page, [1440, 390], '22-live-paused');
      // The snapshot is that frame, pixel for pixel, with the verdict written below it.
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="live-snapshot"]')]);
      const bytes = readFileSync((await download.path())!);
      writeFileSync(path.join(SHOTS, '25-live-snapshot.png'), bytes);
      const png = PNG.sync.read(bytes);
      expect(png.width).toBe(640);
      expect(png.height).toBeGreaterThan(480);
      let differing = 0;
      for (let i = 0; i < 640 * 480 * 4; i++) if (png.data[i] !== frozen.data[i]) differing++;
      expect(differing).toBe(0);
      // Inspect scores a dropped snapshot as Live did: the scored square, not the frame and its caption.
      const shown = Number(await page.getAttribute('[data-testid="live-verdict"]', 'data-display-score')).toFixed(3);
      const snapshotFile = path.join(tempDir('snapshot'), 'snapshot.png');
      writeFileSync(snapshotFile, bytes);
      await go(page, 'inspect');
      await page.setInputFiles('[data-testid="inspect-drop-files"]', snapshotFile);
      await expect.poll(() => page.getAttribute('[data-testid="results-table"] tbody tr', 'data-verdict'), { timeout: 120_000 }).toBe('OK');
      expect(await text(page, '[data-testid="results-table"] tbody tr')).toContain(shown);
      // Every scored frame joined the trail of verdicts, beside the snapshot Inspect just judged.
      await go(page, 'history');
      await expect.poll(() => page.locator('[data-testid="history-row"]', { hasText: 'live frame' }).count(), { timeout: 30_000 }).toBeGreaterThanOrEqual(v.length);
      await go(page, 'live');
      // A region drawn by hand in another shape is flagged; it is remembered for this model and camera
      // across a reload, and "Fit region" gives it the training proportions.
      await page.click('button:has-text("Start camera")');
      await page.waitForFunction(() => (document.querySelector('.stage video') as HTMLVideoElement | null)?.videoWidth === 640);
      await dragRoi(page, 0.1, 0.1, 0.9, 0.6);
      await expect.poll(() => page.getAttribute('[data-testid="live-framing"]', 'data-framing-ok')).toBe('no');
      expect(await text(page, '[data-testid="live-framing"]')).toMatch(/^Framed differently from training: the region scored is 2\.\d\d:1 but the model learnt from 1:1 images/);
      await sizes(page, [1440], '26-live-framing-warning');
      await page.reload();
      await page.waitForSelector('main[data-engine="ready"]', { timeout: 120_000 });
      await page.click('button:has-text("Start camera")');
      await expect.poll(() => page.getAttribute('[data-testid="live-framing"]', 'data-framing-ok'), { timeout: 60_000 }).toBe('no');
      await page.click('button:has-text("Fit region")');
      await expect.poll(() => page.getAttribute('[data-testid="live-framing"]', 'data-framing-ok')).toBe('yes');
      expect(await text(page, '[data-testid="live-framing"]')).toMatch(/^Your region \(1:1 of the 4:3 frame\)/);
      // The counts survived the reload too.
      expect(Number(await page.getAttribute('[data-testid="station-counts"]', 'data-pass'))).toBeGreaterThan(0);
    });
  });

  it('flags a defective part on >= 90 % of frames, saves it with its heatmap, and exports the saved defects', async () => {
    await station(clips.defect, async (page) => {
      const v = await scoredFrames(page, 30);
      const defect = v.filter((x) => x === 'DEFECT').length / v.length;
      measured.defectDefect = defect;
      measured.defectFrames = v.length;
      expect(defect).toBeGreaterThanOrEqual(0.9);
      await expect.poll(() => page.getAttribute('[data-testid="live-maps"]', 'data-maps').then(Number), { timeout: 180_000, interval: 500 }).toBeGreaterThanOrEqual(2);
      measured.defectVerdictsPerSecond = await text(page, '[data-testid="live-fps"]');
      measured.defectCadence = await cadence(page);
      measured.defectMapsPerSecond = await text(page, '[data-testid="live-maps"]');
      expect(Number(await page.getAttribute('[data-testid="station-counts"]', 'data-fail'))).toBeGreaterThan(0);
      expect(await text(page, '[data-testid="station-rate"]')).toMatch(/^\d+\.\d %$/);
      // The k-of-n verdict turned DEFECT once: that frame is saved in the browser.
      await expect.poll(() => page.getAttribute('[data-testid="station-saved"]', 'data-saved').then(Number), { timeout: 60_000 }).toBeGreaterThanOrEqual(1);
      await sizes(page, [1440, 390], '23-live-defect');
      await page.locator('[data-testid="station"]').scrollIntoViewIfNeeded();
      await sizes(page, [1440, 390], '24-live-station-defect');
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="station-export"]')]);
      const zip = unzipSync(new Uint8Array(readFileSync((await download.path())!)));
      const files = Object.keys(zip);
      expect(files).toContain('defects.csv');
      // Exports keep six significant digits of both scores (screens round the 0-1 score to three); every saved frame is a DEFECT.
      const csv = strFromU8(zip['defects.csv']).trim().split(/\r?\n/);
      expect(csv[0]).toBe('file,heatmap_file,taken_at,model,version,score,raw_score');
      for (const line of csv.slice(1)) {
        const [score, raw] = line.split(',').slice(-2).map(Number);
        expect(score).toBeGreaterThanOrEqual(0.5);
        expect(raw).toBeGreaterThan(0);
      }
      expect(files.filter((f) => f.startsWith('defects/') && f.endsWith('.png') && !f.endsWith('-heatmap.png')).length).toBeGreaterThanOrEqual(1);
      expect(files.filter((f) => f.endsWith('-heatmap.png')).length).toBeGreaterThanOrEqual(1);
      measured.exported = files;
    });
  });
});
