// Robustness promises, with the failures provoked for real where the browser allows it: a WebGPU device
// lost in the middle of an inspection, a full IndexedDB, a camera unplugged mid-stream (and none at all),
// and a reload in the middle of training. One browser and one tiny model for all of them.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launch, type Session } from './browser';
import { animationFrames, go, loadWeights, open, shot, text, waitReady } from './app';
import { goodTrainImages, mtd, SQUEEZENET, tempDir } from './data';

const baseUrl = inject('baseUrl');
const origin = baseUrl.replace(/\/$/, '');

async function setField(page: Page, label: string, v: number): Promise<void> {
  const input = page.locator(`label.field:has(> span:text-is("${label}"))`).locator('input');
  await input.fill(String(v));
  await input.blur();
}

/** The smallest settings the form allows: a model trains from 4 images in seconds, on the real pipeline. */
async function tinySettings(page: Page, epochs = 1): Promise<void> {
  await page.click('details summary');
  await page.selectOption('select[aria-label="Working size"]', '224');
  const set = (label: string, v: number) => setField(page, label, v);
  await set('Scales', 1);
  await set('Epochs', epochs);
  await set('Sub-epochs', 1);
  // The default has no rotations: one copy per image in training and scoring.
  expect(await page.isChecked('[data-testid="rotate-toggle"]')).toBe(false);
  await set('Flow blocks', 2);
  await set('Flow width', 32);
  await page.click('details summary');
}

/** The rows of the Inspect table as shown: the score as text, and the verdict column's text (with any error message). */
async function inspectRows(page: Page): Promise<{ name: string; verdict: string; score: string; shown: string }[]> {
  return page.$$eval('[data-testid="results-table"] tbody tr', (trs) =>
    (trs as HTMLTableRowElement[]).map((tr) => ({
      name: tr.cells[0].textContent!.trim(),
      verdict: tr.getAttribute('data-verdict') ?? '',
      score: tr.cells[1].textContent!.trim(),
      shown: tr.cells[2].textContent!.trim(),
    })),
  );
}

/** Inspects `files` with the active model, from a cleared table, and waits for every verdict. */
async function inspect(page: Page, files: string[], timeout = 120_000): Promise<Awaited<ReturnType<typeof inspectRows>>> {
  await go(page, 'inspect');
  if (await page.locator('[data-testid="results-table"]').count()) await page.click('button:has-text("Clear")');
  await page.setInputFiles('[data-testid="inspect-drop-files"]', files);
  await expect.poll(async () => (await inspectRows(page)).filter((r) => r.verdict !== 'PENDING').length, { timeout }).toBe(files.length);
  return inspectRows(page);
}

async function chooseWebGpu(page: Page, timeout = 60_000): Promise<void> {
  await page.selectOption('[data-testid="backend-choice"]', 'webgpu');
  await expect.poll(() => page.getAttribute('[data-testid="backend-badge"]', 'data-backend'), { timeout }).toBe('webgpu');
}

function engineWorker(page: Page) {
  const worker = page.workers().find((w) => w.url().includes('engine.worker'));
  expect(worker, 'the engine worker is running').toBeDefined();
  return worker!;
}

type TfGlobal = { _tfengine?: { backendName: string; backend: { device?: GPUDevice } }; __e2eLostDevice?: GPUDevice };

/**
 * Destroys the GPUDevice under TF.js's WebGPU backend, from inside the engine worker (TF.js keeps its engine
 * on the worker's global object): for the app, the same as a driver reset. No hook in the app is needed.
 */
async function loseGpuDevice(page: Page): Promise<string> {
  return engineWorker(page).evaluate(() => {
    const g = globalThis as unknown as TfGlobal;
    const device = g._tfengine?.backendName === 'webgpu' ? g._tfengine.backend.device : undefined;
    if (!device) return `not on WebGPU (${g._tfengine?.backendName})`;
    g.__e2eLostDevice = device;
    device.destroy();
    return 'destroyed';
  });
}

/** Tensors alive in the engine worker's TF.js engine: more than when idle while an image or a training is being worked on. */
async function engineTensors(page: Page): Promise<number> {
  return engineWorker(page).evaluate(() => (globalThis as unknown as { _tfengine?: { state: { numTensors: number } } })._tfengine?.state.numTensors ?? 0);
}

/** Whether the WebGPU backend's device is the one destroyed before, and whether it still answers a read. */
async function gpuDeviceState(page: Page): Promise<string> {
  return engineWorker(page).evaluate(async () => {
    const g = globalThis as unknown as TfGlobal;
    const device = g._tfengine?.backend.device;
    if (!device) return 'no device';
    if (device === g.__e2eLostDevice) return 'the lost device';
    const buf = device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ });
    const read = await Promise.race([buf.mapAsync(GPUMapMode.READ).then(() => 'alive', (e: Error) => `dead (${e.message})`), new Promise((r) => setTimeout(() => r('not answering'), 5000))]);
    buf.destroy();
    return `a new device, ${read}`;
  });
}

interface StoredModel {
  record: string;
  /** SHA-256 of the stored model file, or null when there is none (never trained). */
  file: string | null;
}

/** The app's stored models, read straight from IndexedDB: metadata as JSON and a digest of each model file. */
async function storedModels(page: Page): Promise<Record<string, StoredModel>> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open('differnet-inspector');
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error);
    });
    const req = <T>(r: IDBRequest<T>) => new Promise<T>((resolve, reject) => ((r.onsuccess = () => resolve(r.result)), (r.onerror = () => reject(r.error))));
    const tx = db.transaction(['models', 'modelFiles'], 'readonly');
    const records = await req(tx.objectStore('models').getAll() as IDBRequest<{ id: string; name: string }[]>);
    const files = await Promise.all(records.map((r) => req(tx.objectStore('modelFiles').get(r.id) as IDBRequest<ArrayBuffer | undefined>)));
    db.close();
    const out: Record<string, { record: string; file: string | null }> = {};
    for (let i = 0; i < records.length; i++) {
      const f = files[i];
      const digest = f ? Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', f)), (b) => b.toString(16).padStart(2, '0')).join('') : null;
      out[records[i].name] = { record: JSON.stringify(records[i]), file: digest };
    }
    return out;
  });
}

/**
 * Makes IndexedDB refuse model files for want of space until the next reload. `abort`: the write is
 * accepted and its transaction then aborts with a QuotaExceededError, as Chromium reports a full disk at
 * commit; `throw`: the write throws QuotaExceededError at once.
 */
async function fillStorage(page: Page, how: 'abort' | 'throw'): Promise<void> {
  await page.evaluate((how) => {
    const w = window as unknown as { __e2eRealPut?: typeof IDBObjectStore.prototype.put };
    const put = (w.__e2eRealPut ??= IDBObjectStore.prototype.put);
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      if (this.name !== 'modelFiles') return put.apply(this, args);
      const full = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      if (how === 'throw') throw full;
      const request = put.apply(this, args);
      Object.defineProperty(this.transaction, 'error', { value: full });
      this.transaction.abort();
      return request;
    };
  }, how);
}

/** Only the part of the stored record a reload or a failed write must not touch (not its `updatedAt`, say, when settings were edited). */
function modelOf(m: StoredModel | undefined) {
  if (!m) return null;
  const r = JSON.parse(m.record) as { version: number; calibration: unknown; training: unknown; fileBytes: number; weightsHash: string };
  return { version: r.version, calibration: r.calibration, training: r.training, fileBytes: r.fileBytes, weightsHash: r.weightsHash, file: m.file };
}

async function liveFrames(page: Page): Promise<number> {
  return Number(await page.getAttribute('[data-testid="live-verdict"]', 'data-frames'));
}

async function dismissNotices(page: Page): Promise<void> {
  while (await page.locator('.notice button').count()) await page.locator('.notice button').first().click();
}

// Each test builds on the state the one before it left (a trained model, scored rows): they run in order.
describe.sequential('robustness', () => {
  let s: Session;
  const train = goodTrainImages(4);
  const probe = mtd('test', 'good', 'exp1_num_11276.jpg');
  let baseline = '';

  beforeAll(async () => {
    // WebGPU on Chromium's software adapter, and its built-in fake camera (a test pattern) allowed without a prompt.
    s = await launch(origin, { args: ['--enable-unsafe-webgpu', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('trains a tiny model and scores a probe image (the baseline for what follows)', async () => {
    const page = s.page;
    const t0 = Date.now();
    await open(page, baseUrl, 'models');
    await loadWeights(page, SQUEEZENET());
    await go(page, 'teach');
    // Scores are compared across backends below: the baseline is WASM's (the automatic choice may be WebGL).
    await page.selectOption('[data-testid="backend-choice"]', 'wasm');
    await expect.poll(() => page.getAttribute('[data-testid="backend-badge"]', 'data-backend'), { timeout: 60_000 }).toBe('wasm');
    await page.fill('[data-testid="new-model-name"]', 'Base');
    await page.selectOption('[data-testid="new-model-backbone"]', 'squeezenet1_1');
    await page.click('button:has-text("Create model")');
    await page.waitForSelector('[data-testid="teach-screen"]');
    await page.setInputFiles('[data-testid="teach-drop-files"]', train);
    await expect.poll(() => text(page, '[data-testid="teach-count"]'), { timeout: 30_000 }).toMatch(/^4 good images/);
    await tinySettings(page);
    await page.click('[data-testid="train-button"]');
    await page.waitForSelector('[data-testid="threshold"]', { timeout: 300_000 });
    console.log('setup: trained in', (Date.now() - t0) / 1000, 's');
    const [row] = await inspect(page, [probe]);
    expect(row.verdict).toMatch(/^(OK|DEFECT)$/);
    baseline = row.score;
    console.log('setup done in', (Date.now() - t0) / 1000, 's; baseline score', baseline);
  });

  it('says the storage is full when a model cannot be stored, and keeps the stored one intact', async () => {
    const page = s.page;
    const t0 = Date.now();
    // Settings that make the retrained version score differently from the stored one.
    await go(page, 'teach');
    await page.click('details summary');
    await setField(page, 'Epochs', 2);
    await page.click('details summary');
    await expect.poll(() => text(page, 'details summary')).toMatch(/2×1 passes/);
    const before = await storedModels(page);
    expect(Object.keys(before)).toEqual(['Base']);
    expect(before.Base.file).toMatch(/^[0-9a-f]{64}$/);
    await go(page, 'models');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[aria-label="Export Base"]')]);
    const exported = path.join(tempDir('quota'), 'Base.differnet');
    await download.saveAs(exported);

    // A retraining whose new version cannot be written: the disk fills at commit.
    await fillStorage(page, 'abort');
    await go(page, 'teach');
    await page.click('[data-testid="train-button"]');
    await expect.poll(() => page.locator('[data-testid="notice-error"]').allTextContents(), { timeout: 120_000 }).toContainEqual(
      expect.stringMatching(/Training failed \(the previous version of the model is unchanged\): The browser's storage is full, so model "Base" could not be saved\. Delete models you no longer need/),
    );
    expect(await text(page, '[data-testid="train-button"]')).toBe('Retrain (version 2)');
    expect(await storedModels(page)).toEqual(before);
    // What runs is what is stored: the version the engine trained was dropped with the failed write.
    expect((await inspect(page, [probe]))[0].score).toBe(baseline);

    // An import that cannot be written: the write fails at once.
    await fillStorage(page, 'throw');
    await go(page, 'models');
    await page.setInputFiles('[data-testid="model-import-files"]', exported);
    // "Base" is already here: import it as a copy, whose write then fails.
    await page.click('[data-testid="import-copy"]');
    await expect.poll(() => page.locator('[data-testid="notice-error"]').allTextContents(), { timeout: 60_000 }).toContainEqual(
      expect.stringMatching(/Base\.differnet was not imported: The browser's storage is full, so model "Base \(2\)" could not be saved\./),
    );
    expect(await page.locator('[data-testid="model-row"]').count()).toBe(1);
    await shot(page, '31-storage-full');

    // After a reload (which also ends the simulated full disk), the stored model is exactly as it was, and scores as before.
    await page.reload();
    await waitReady(page);
    expect(await storedModels(page)).toEqual(before);
    await go(page, 'models');
    expect(await page.locator('[data-testid="model-row"]').count()).toBe(1);
    expect(await text(page, '[data-testid="model-row"][data-model-name="Base"]')).toMatch(/SqueezeNet 1\.1\s*v1\s*4/);
    expect((await inspect(page, [probe]))[0].score).toBe(baseline);
    console.log('storage full', (Date.now() - t0) / 1000, 's');
    expect(s.problems).toEqual([]);
  });

  it('keeps the stored model intact when the page reloads in the middle of training', async () => {
    const page = s.page;
    const t0 = Date.now();
    const before = await storedModels(page);
    // Retraining the stored model itself: its old version must survive the reload whole.
    await go(page, 'teach');
    await page.click('[data-testid="train-button"]');
    await page.waitForSelector('[data-testid="train-progress"]');
    await page.waitForSelector('[data-testid="train-loss"]', { timeout: 120_000 });
    expect(await page.locator('[data-testid="train-progress"]').count(), 'reloading mid-training, not after').toBe(1);
    await page.reload();
    await waitReady(page);
    expect(await storedModels(page)).toEqual(before);

    // A second model, reloaded in the middle of its first training.
    await go(page, 'teach');
    await page.click('button:has-text("+ New model")');
    await page.fill('[data-testid="new-model-name"]', 'Second');
    await page.selectOption('[data-testid="new-model-backbone"]', 'squeezenet1_1');
    await page.click('button:has-text("Create model")');
    await page.waitForSelector('[data-testid="teach-screen"]');
    await page.setInputFiles('[data-testid="teach-drop-files"]', train);
    await expect.poll(() => text(page, '[data-testid="teach-count"]'), { timeout: 30_000 }).toMatch(/^4 good images/);
    await tinySettings(page, 8);
    await page.click('[data-testid="train-button"]');
    await page.waitForSelector('[data-testid="train-loss"]', { timeout: 120_000 });
    expect(await page.locator('[data-testid="train-progress"]').count(), 'reloading mid-training, not after').toBe(1);
    await page.reload();
    await waitReady(page);
    const after = await storedModels(page);
    expect(after.Base).toEqual(before.Base);
    // The interrupted model is there, untrained, with its images; nothing half-written.
    expect(modelOf(after.Second)).toMatchObject({ version: 0, calibration: null, training: null, fileBytes: 0, file: null });
    await go(page, 'teach');
    expect(await text(page, '[data-testid="teach-count"]')).toMatch(/^4 good images/);
    expect(await text(page, '[data-testid="train-button"]')).toBe('Train');
    // And the stored model still loads and scores as before.
    await page.selectOption('[data-testid="active-model"]', { label: 'Base · SqueezeNet 1.1' });
    expect((await inspect(page, [probe]))[0].score).toBe(baseline);
    console.log('reload during training', (Date.now() - t0) / 1000, 's');
    expect(s.problems).toEqual([]);
  });

  it('says when the camera is disconnected mid-stream, without an error loop, and resumes when it is chosen again; and when there is none', async () => {
    const page = s.page;
    const t0 = Date.now();
    await go(page, 'live');
    await page.click('button:has-text("Start camera")');
    await expect.poll(() => text(page, '[data-testid="camera-state"]'), { timeout: 30_000 }).toMatch(/^Using /);
    // The trained model scores the frames by itself.
    await expect.poll(() => liveFrames(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    const problems = s.problems.length;

    // Unplugged: the browser ends the track (and fires `ended`, which stop() alone does not).
    const ended = await page.evaluate(() => {
      const stream = (document.querySelector('.stage video') as HTMLVideoElement).srcObject as MediaStream;
      const track = stream.getVideoTracks()[0];
      track.stop();
      track.dispatchEvent(new Event('ended'));
      return track.readyState;
    });
    expect(ended).toBe('ended');
    await expect.poll(() => text(page, '[data-testid="camera-error"]')).toMatch(/^The camera was disconnected/);
    expect(await text(page, '[data-testid="camera-state"]')).toBe('Camera disconnected');
    expect(await text(page, '[data-testid="live-verdict"]')).toBe('Camera disconnected');
    expect(await page.locator('[data-testid="live-error"]').count()).toBe(0);
    await shot(page, '32-camera-disconnected');
    // Nothing keeps trying: no frames scored, no errors piling up, while the page renders on.
    const frozen = await liveFrames(page);
    await animationFrames(page, 150);
    expect(await liveFrames(page)).toBe(frozen);
    expect(s.problems.slice(problems)).toEqual([]);

    // Choosing the camera again brings it back, and scoring resumes by itself.
    const camera = await page.$$eval('select[aria-label="Camera device"] option', (os) => (os as HTMLOptionElement[]).map((o) => o.value).find((v) => v !== ''));
    expect(camera, 'the fake camera is listed').toBeTruthy();
    await page.selectOption('select[aria-label="Camera device"]', camera!);
    await expect.poll(() => text(page, '[data-testid="camera-state"]'), { timeout: 30_000 }).toMatch(/^Using /);
    expect(await page.locator('[data-testid="camera-error"]').count()).toBe(0);
    await expect.poll(() => liveFrames(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
    expect(await text(page, '[data-testid="live-verdict"]')).toMatch(/^(OK|DEFECT) · score/);

    // No camera at all: the browser finds none.
    await page.click('button:has-text("Stop camera")');
    await page.evaluate(() => {
      const md = navigator.mediaDevices;
      const w = window as unknown as { cameraRequests: number };
      w.cameraRequests = 0;
      md.getUserMedia = () => (w.cameraRequests++, Promise.reject(new DOMException('Requested device not found', 'NotFoundError')));
      md.enumerateDevices = () => Promise.resolve([]);
    });
    await page.click('button:has-text("Start camera")');
    await expect.poll(() => text(page, '[data-testid="camera-error"]')).toBe('No camera was found. Plug one in, then press Start camera.');
    expect(await text(page, '[data-testid="camera-state"]')).toBe('No camera found');
    // Asked once, not again and again.
    await animationFrames(page, 90);
    expect(await page.evaluate(() => (window as unknown as { cameraRequests: number }).cameraRequests)).toBe(1);
    expect(await text(page, 'button:has-text("Start camera")')).toBe('Start camera');
    expect(s.problems.slice(problems)).toEqual([]);
    await shot(page, '33-no-camera');
    await page.reload();
    await waitReady(page);
    console.log('camera', (Date.now() - t0) / 1000, 's');
  });

  it('falls back to WASM when the WebGPU device is lost mid-inspection, redoes the image, and reports an interrupted training', async () => {
    const page = s.page;
    const t0 = Date.now();
    await chooseWebGpu(page);
    await go(page, 'inspect');
    if (await page.locator('[data-testid="results-table"]').count()) await page.click('button:has-text("Clear")');
    const idle = await engineTensors(page);
    await page.setInputFiles('[data-testid="inspect-drop-files"]', [probe]);
    await expect.poll(async () => (await inspectRows(page))[0]?.score).toBe('…');
    // Mid-way: the engine holds the image's tensors (an inspection takes tens of seconds on the software adapter).
    await expect.poll(() => engineTensors(page), { interval: 50 }).toBeGreaterThan(idle);
    expect((await inspectRows(page))[0].verdict, 'still scoring on WebGPU when the device goes').toBe('PENDING');
    expect(await loseGpuDevice(page)).toBe('destroyed');
    await expect.poll(() => page.locator('[data-testid="notice-warning"]').allTextContents(), { timeout: 60_000 }).toContainEqual(expect.stringMatching(/The GPU was lost \(.+\); the engine switched to WASM/));
    // (Info notices fade after a few seconds: this one is looked for first.)
    await expect.poll(() => page.locator('[data-testid="notice-info"]').allTextContents(), { timeout: 60_000 }).toContainEqual(expect.stringMatching(/inspection interrupted by the GPU loss is being redone on WASM/));
    await expect.poll(() => page.getAttribute('[data-testid="backend-badge"]', 'data-backend'), { timeout: 60_000 }).toBe('wasm');
    expect(await text(page, '[data-testid="backend-badge"]')).toMatch(/^WASM · /);
    expect(await page.getAttribute('[data-testid="backend-reason"]', 'title')).toMatch(/WebGPU device was lost/);
    // The image in progress is redone on WASM: the same score as before, not left pending, not taken for a cancellation.
    await expect.poll(async () => (await inspectRows(page))[0]?.verdict, { timeout: 120_000 }).not.toBe('PENDING');
    const [row] = await inspectRows(page);
    expect(row.verdict, row.shown).toMatch(/^(OK|DEFECT)$/);
    expect(row.score).toBe(baseline);
    await shot(page, '30-webgpu-lost');
    console.log('inspection redone', (Date.now() - t0) / 1000, 's after choosing WebGPU');

    // WebGPU can be chosen again, and gets a new device rather than the dead one TF.js kept.
    // (Slow on the software adapter: Chromium answers the new adapter request once the dead device's queued
    // work is through, some 30 s here.)
    await chooseWebGpu(page, 180_000);
    expect(await gpuDeviceState(page)).toBe('a new device, alive');
    // A training cut by a lost device is not redone unasked, but said, and the model stays as it was.
    await go(page, 'teach');
    const idleTraining = await engineTensors(page);
    await page.click('[data-testid="train-button"]');
    await page.waitForSelector('[data-testid="train-progress"]');
    // Under way on the GPU: the engine holds the training's tensors.
    await expect.poll(() => engineTensors(page), { interval: 50 }).toBeGreaterThan(idleTraining);
    expect(await page.locator('[data-testid="train-progress"]').count(), 'still training on WebGPU when the device goes').toBe(1);
    expect(await loseGpuDevice(page)).toBe('destroyed');
    await expect.poll(() => page.locator('[data-testid="notice-error"]').allTextContents(), { timeout: 60_000 }).toContainEqual(
      expect.stringMatching(/Training failed \(the previous version of the model is unchanged\): Training was interrupted: the GPU was lost .*switched to WASM\. Start it again\./),
    );
    expect(await text(page, '[data-testid="train-button"]')).toBe('Retrain (version 2)');
    await expect.poll(() => page.getAttribute('[data-testid="backend-badge"]', 'data-backend'), { timeout: 60_000 }).toBe('wasm');
    console.log('training interrupted and reported', (Date.now() - t0) / 1000, 's');
    await dismissNotices(page);
    expect(s.problems).toEqual([]);
  });
});
