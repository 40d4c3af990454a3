// The inspector's whole job, as a user does it: weights, teach, evaluate, inspect, export, reload.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launch, type Session } from './browser';
import { canvasPixels, fastSettings, go, loadWeights, numberIn, open, shot, text, waitReady } from './app';
import { badFiles, goodTrainImages, labelledSet, mtd, SQUEEZENET, tempDir, type LabelledSet } from './data';

const baseUrl = inject('baseUrl');
let s: Session;
let set: LabelledSet;
let threshold = 0;
const scores = new Map<string, number>();

function auroc(pos: number[], neg: number[]): number {
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

// Each test builds on the state the one before it left (a trained model, scored rows): they run in order.
describe.sequential('inspector workflow (MTD, SqueezeNet)', () => {
  beforeAll(async () => {
    s = await launch(baseUrl.replace(/\/$/, ''));
    // Visible damage of several kinds. A model taught from 16 images at 224 px is weak on MTD (near-chance
    // AUROC on a random sample), so the test uses parts a person would call defective at a glance.
    set = labelledSet(4, { fray: ['exp1_num_136254.jpg', 'exp1_num_20362.jpg'], break: ['exp1_num_284482.jpg'], crack: ['exp1_num_32128.jpg'] });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('starts and shows the measured backend in the header', async () => {
    await open(s.page, baseUrl);
    const backend = await s.page.getAttribute('[data-testid="backend-badge"]', 'data-backend');
    expect(['wasm', 'webgl']).toContain(backend);
    expect(await text(s.page, '[data-testid="backend-badge"]')).toMatch(/WASM|WEBGL/);
    if (backend === 'wasm') {
      // Every core (TF.js's pool holds at most 8), not the half that TF.js's WASM module would take by itself.
      const cores = await s.page.evaluate(() => Math.min(8, navigator.hardwareConcurrency));
      expect(await s.page.getAttribute('[data-testid="backend-badge"]', 'title')).toMatch(new RegExp(`WASM SIMD, ${cores} thread${cores === 1 ? '' : 's'}$`));
    }
    await shot(s.page, '01-start');
  });

  it('refuses hostile and truncated weight files with a clear message', async () => {
    const bad = badFiles();
    await s.page.setInputFiles('[data-testid="weights-drop-files"]', bad.hostilePth);
    const err = s.page.locator('[data-testid="weights-error"]');
    await err.waitFor();
    expect(await err.textContent()).toMatch(/hostile\.pth: .*(posix|system|not allowed|refus|unsupported|global)/i);
    await s.page.setInputFiles('[data-testid="weights-drop-files"]', bad.truncatedPth);
    await expect.poll(async () => err.textContent()).toMatch(/truncated\.pth: /);
    expect(await text(s.page, '[data-testid="weights-squeezenet1_1"]')).toMatch(/not loaded/);
  });

  it('loads SqueezeNet weights from a PyTorch file', async () => {
    await loadWeights(s.page, SQUEEZENET());
    expect(await text(s.page, '[data-testid="weights-squeezenet1_1"]')).toMatch(/loaded from squeezenet1_1-imagenet\.pth · 0\.7\d M parameters/);
  });

  it('teaches a model from 16 good MTD images, refusing bad files per file', async () => {
    const page = s.page;
    await page.fill('[data-testid="new-model-name"]', 'MTD tiles');
    await page.selectOption('[data-testid="new-model-backbone"]', 'squeezenet1_1');
    await page.click('button:has-text("Create model")');
    await page.waitForSelector('[data-testid="teach-screen"]');
    const bad = badFiles();
    await page.setInputFiles('[data-testid="teach-drop-files"]', [...goodTrainImages(16), bad.notImage, bad.truncatedJpeg]);
    await expect.poll(() => text(page, '[data-testid="teach-count"]'), { timeout: 30_000 }).toMatch(/^16 good images/);
    const rejected = await text(page, '[data-testid="teach-rejected"]');
    expect(rejected).toMatch(/notes\.txt: not an image/);
    expect(rejected).toMatch(/truncated\.jpg: not a readable image/);
    expect(await page.locator('[data-testid="thumbnails"] img').count()).toBe(16);
    expect(await text(page, '[data-testid="few-images-warning"]')).toMatch(/Only 16 good images/);
    await fastSettings(page);
    await shot(page, '02-teach-ready');
    await page.click('[data-testid="train-button"]');
    await page.waitForSelector('[data-testid="train-progress"]');
    await page.waitForSelector('[data-testid="loss-chart"]', { timeout: 300_000 });
    await shot(page, '03-teach-training');
    await page.waitForSelector('[data-testid="threshold"]', { timeout: 600_000 });
    threshold = await numberIn(page, '[data-testid="threshold"]');
    expect(threshold).toBeGreaterThan(0);
    // A fifth of the 16 images (3, chosen at random) never reach the flow and set the threshold.
    expect(await text(page, '[data-testid="training-summary"]')).toMatch(/trained on 13 images \(3 held out\)/);
    expect(await text(page, '[data-testid="held-out-count"]')).toBe('3');
    // 3 held-out images cannot promise 5 %: the panel says so and what they do support (25 %).
    expect(await text(page, '[data-testid="calibration-warning"]')).toMatch(/Too few held-out images for 5\.0 %: 3 images support 25\.0 % or more/);
    await page.locator('[data-testid="loss-history"] summary').click();
    await page.waitForSelector('[data-testid="loss-history"] [data-testid="loss-chart"] svg');
    await shot(page, '04-teach-calibrated');
  });

  it('stops a retraining on Cancel during flow training, keeping the trained model', async () => {
    const page = s.page;
    // Long enough a flow phase to cancel in the middle of it.
    if (!(await page.locator('[data-testid="settings-details"]').evaluate((d) => (d as HTMLDetailsElement).open))) await page.click('[data-testid="settings-details"] summary');
    const epochs = page.locator('label.field:has(> span:text-is("Epochs"))').locator('input');
    await epochs.fill('60');
    await epochs.blur();
    await page.click('[data-testid="train-button"]');
    await page.waitForSelector('[data-testid="train-progress"]');
    await page.waitForSelector('[data-testid="train-loss"]', { timeout: 300_000 });
    const cancelled = page.locator('[data-testid="notice-info"]', { hasText: 'Training cancelled; the previous version of the model is unchanged' });
    const t0 = Date.now();
    await page.click('[data-testid="train-progress"] button:has-text("Cancel")');
    await cancelled.waitFor({ timeout: 30_000 });
    // How fast is a speed question for a benchmark, not an assert here; the log keeps it visible.
    console.log('cancel during flow training took', Date.now() - t0, 'ms');
    await page.waitForSelector('[data-testid="train-progress"]', { state: 'detached' });
    await epochs.fill('2');
    await epochs.blur();
    expect(await numberIn(page, '[data-testid="threshold"]')).toBe(threshold);
    expect(await text(page, '[data-testid="train-button"]')).toBe('Retrain (version 2)');
  });

  it('evaluates a labelled MVTec-layout folder: AUROC, ROC, histograms, pixel AUROC, confusion', async () => {
    const page = s.page;
    await go(page, 'evaluate');
    await page.setInputFiles('[data-testid="eval-folder-folder"]', set.root);
    await expect.poll(() => text(page, '[data-testid="eval-count"]')).toMatch(/^8 images: 4 good, 4 defective, [1-4] with masks/);
    await page.click('[data-testid="eval-run"]');
    await page.waitForSelector('[data-testid="auroc"]', { timeout: 600_000 });
    const shown = await numberIn(page, '[data-testid="auroc"]');
    // The number shown must be the AUROC of the scores shown.
    const rows = await page.$$eval('[data-testid="eval-table"] tbody tr', (trs) =>
      (trs as HTMLTableRowElement[]).map((tr) => ({
        name: tr.cells[0].textContent!,
        label: (tr.cells[1].querySelector('select') as HTMLSelectElement).value,
        score: Number(tr.cells[2].getAttribute('data-raw')),
        shown: Number(tr.cells[2].textContent),
      })),
    );
    expect(rows).toHaveLength(8);
    for (const r of rows) expect(Number.isFinite(r.score)).toBe(true);
    // The scores people read are 0-1 with the model's threshold at 0.5, in the raw scores' order.
    for (const r of rows) {
      if (!Number.isFinite(r.shown)) continue; // ">0.999"
      expect(r.shown).toBeGreaterThanOrEqual(0);
      expect(r.shown).toBeLessThanOrEqual(1);
      expect(r.shown >= 0.5).toBe(r.score >= threshold);
    }
    const pos = rows.filter((r) => r.label === '1').map((r) => r.score);
    const neg = rows.filter((r) => r.label === '0').map((r) => r.score);
    expect(shown).toBeCloseTo(auroc(pos, neg), 2);
    for (const r of rows) scores.set(r.name.replace(/ · mask$/, ''), r.score);
    console.log('evaluate', { auroc: shown, rows });
    const pixel = await numberIn(page, '[data-testid="pixel-auroc"]');
    console.log('evaluate pixel AUROC', pixel);
    // Chance is 0.5; on these visibly damaged parts the maps find the damage (0.87 measured), so a map that
    // lights up the wrong places, or masks matched to the wrong pixels, falls below this.
    expect(pixel).toBeGreaterThan(0.7);
    expect(pixel).toBeLessThanOrEqual(1);
    await page.waitForSelector('[data-testid="roc-chart"] svg');
    await page.waitForSelector('[data-testid="histogram"] svg');
    // Confusion counts follow the slider: at its lowest, everything is flagged.
    const slider = page.locator('[data-testid="threshold-slider"]');
    await slider.focus();
    await page.keyboard.press('Home');
    await expect.poll(() => text(page, '[data-testid="tp"]')).toBe('4');
    expect(await text(page, '[data-testid="fp"]')).toBe('4');
    expect(await text(page, '[data-testid="tn"]')).toBe('0');
    // At its highest, nothing is flagged; one step down, only the top-scoring image.
    await page.keyboard.press('End');
    await expect.poll(async () => Number(await text(page, '[data-testid="tp"]')) + Number(await text(page, '[data-testid="fp"]'))).toBe(0);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(async () => Number(await text(page, '[data-testid="tp"]')) + Number(await text(page, '[data-testid="fp"]'))).toBe(1);
    // Every cut is one arrow step: from the bottom, as many steps as scores below the lowest defect
    // reach the threshold between the good and the defective scores, whatever their spread.
    const lowestDefect = Math.min(...pos);
    const below = rows.filter((r) => r.score < lowestDefect).length;
    await page.keyboard.press('Home');
    for (let i = 0; i < below; i++) await page.keyboard.press('ArrowRight');
    await expect.poll(() => text(page, '[data-testid="tp"]')).toBe('4');
    expect(Number(await text(page, '[data-testid="fp"]'))).toBe(neg.filter((v) => v >= lowestDefect).length);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => text(page, '[data-testid="fn"]')).toBe('0');
    await shot(page, '05-evaluate');
  });

  it('inspects images: a defective one is flagged and its heatmap is drawn', async () => {
    const page = s.page;
    await go(page, 'inspect');
    // The highest-scoring defect of the evaluation, and a good test image.
    const worst = set.defects.map((d) => ({ ...d, score: scores.get(`mtd/test/${d.category}/${d.file}`) ?? -1 })).sort((a, b) => b.score - a.score)[0];
    expect(worst.score).toBeGreaterThan(threshold);
    const defective = path.join(set.root, 'test', worst.category, worst.file);
    const good = mtd('test', 'good', set.good[0]);
    await page.setInputFiles('[data-testid="inspect-drop-files"]', [defective, good]);
    await expect.poll(async () => page.locator('[data-testid="results-table"] tbody tr[data-verdict="DEFECT"], [data-testid="results-table"] tbody tr[data-verdict="OK"]').count(), { timeout: 300_000 }).toBe(2);
    const row = page.locator('[data-testid="results-table"] tbody tr', { hasText: worst.file });
    expect(await row.getAttribute('data-verdict')).toBe('DEFECT');
    expect(Number(await row.locator('[data-testid="row-score"]').getAttribute('data-raw'))).toBeGreaterThan(threshold);
    expect(Number(await row.locator('[data-testid="row-score"]').textContent()) || 1).toBeGreaterThanOrEqual(0.5);
    await row.locator('button').click();
    await page.waitForSelector('[data-testid="inspect-detail"] canvas');
    const spread = (d: number[], i: number) => Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]);
    // MTD tiles are grey: any hue on the canvas comes from the heatmap.
    const hued = async () => {
      const c = await canvasPixels(page, '[data-testid="heatmap-canvas"]');
      let n = 0;
      for (let i = 0; i < c.data.length; i += 4) if (spread(c.data, i) > 30) n++;
      return { pixels: c, fraction: n / Math.max(1, c.data.length / 4) };
    };
    // Drawn once the image and its map are in: wait for the overlay's colour, then for its absence at opacity 0.
    await expect.poll(async () => (await hued()).fraction, { timeout: 30_000 }).toBeGreaterThan(0.01);
    const withHeat = (await hued()).pixels;
    await page.locator('[data-testid="opacity"]').fill('0');
    await expect.poll(async () => (await hued()).fraction, { timeout: 30_000 }).toBe(0);
    const plain = (await hued()).pixels;
    expect(withHeat.width).toBe(plain.width);
    let changed = 0;
    let coloured = 0;
    for (let i = 0; i < plain.data.length; i += 4) {
      const d = Math.abs(withHeat.data[i] - plain.data[i]) + Math.abs(withHeat.data[i + 1] - plain.data[i + 1]) + Math.abs(withHeat.data[i + 2] - plain.data[i + 2]);
      if (d > 24) changed++;
      if (spread(plain.data, i) < 8 && spread(withHeat.data, i) > 30) coloured++;
    }
    const n = plain.data.length / 4;
    console.log('heatmap', { changed: changed / n, coloured: coloured / n });
    expect(changed / n).toBeGreaterThan(0.01);
    expect(coloured / n).toBeGreaterThan(0.01);
    await page.locator('[data-testid="opacity"]').fill('0.6');
    await shot(page, '06-inspect');
  });

  it('sorts and filters the results table', async () => {
    const page = s.page;
    const names = () => page.$$eval('[data-testid="results-table"] tbody tr', (trs) => (trs as HTMLTableRowElement[]).map((tr) => tr.getAttribute('data-verdict')));
    await page.click('th button:has-text("Score")');
    expect(await names()).toEqual(['DEFECT', 'OK']);
    await page.click('th button:has-text("Score")');
    expect(await names()).toEqual(['OK', 'DEFECT']);
    await page.selectOption('[data-testid="inspect-filter"]', 'defect');
    expect(await names()).toEqual(['DEFECT']);
    await page.selectOption('[data-testid="inspect-filter"]', 'all');
  });

  it('exports the results as CSV with one row per image, and as JSON', async () => {
    const page = s.page;
    const [json] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-json"]')]);
    const doc = JSON.parse(readFileSync((await json.path())!, 'utf8')) as { results: { file: string; score: number; rawScore: number; verdict: string; model: string; modelId: string; modelVersion: number }[] };
    expect(doc.results.map((r) => r.verdict).sort()).toEqual(['DEFECT', 'OK']);
    for (const r of doc.results) {
      expect(r).toMatchObject({ model: 'MTD tiles', modelVersion: 1 });
      expect(r.modelId).toMatch(/^model-/);
      expect(r.score >= 0.5).toBe(r.verdict === 'DEFECT');
      // No float noise: six significant digits at most.
      expect(String(r.rawScore).replace(/^0\.0*|\.|e.*$/g, '').length).toBeLessThanOrEqual(6);
    }
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-csv"]')]);
    const csv = readFileSync((await download.path())!, 'utf8').trim().split(/\r\n/);
    expect(csv[0]).toBe('time,folder,file,score,threshold,rawScore,rawThreshold,verdict,model,modelId,modelVersion,seconds,error');
    expect(csv).toHaveLength(3);
    const table = await page.$$eval('[data-testid="results-table"] tbody tr', (trs) => (trs as HTMLTableRowElement[]).map((tr) => [tr.cells[0].textContent!.trim(), tr.getAttribute('data-verdict')]));
    for (const line of csv.slice(1)) {
      const [time, , file, score, displayThr, raw, thr, verdict, model, , version] = line.split(',');
      expect(Date.parse(time)).toBeGreaterThan(0);
      expect(table).toContainEqual([file, verdict]);
      // Each scale named: the 0-1 threshold beside the 0-1 score, the raw one beside the raw score.
      expect(displayThr).toBe('0.5');
      expect(Number(thr) / threshold).toBeCloseTo(1, 3);
      expect(verdict === 'DEFECT').toBe(Number(raw) >= Number(thr));
      expect(verdict === 'DEFECT').toBe(Number(score) >= 0.5);
      expect(model).toBe('MTD tiles');
      expect(version).toBe('1');
    }
  });

  it('keeps the model, its settings and the weights after a reload', async () => {
    const page = s.page;
    await page.reload();
    await waitReady(page);
    await go(page, 'models');
    const row = page.locator('[data-testid="model-row"][data-model-name="MTD tiles"]');
    await row.waitFor();
    expect(await row.textContent()).toMatch(/SqueezeNet 1\.1.*v1.*13/);
    expect(await text(page, '[data-testid="weights-squeezenet1_1"]')).toMatch(/loaded from squeezenet1_1-imagenet\.pth/);
    await shot(page, '07-models');
    // The inspection batch is still there, and it still inspects, without asking for anything.
    await go(page, 'inspect');
    await expect.poll(async () => page.locator('[data-testid="results-table"] tbody tr[data-verdict="OK"], [data-testid="results-table"] tbody tr[data-verdict="DEFECT"]').count()).toBe(2);
    await page.setInputFiles('[data-testid="inspect-drop-files"]', mtd('test', 'good', set.good[1]));
    await expect.poll(async () => page.locator('[data-testid="results-table"] tbody tr[data-verdict="OK"], [data-testid="results-table"] tbody tr[data-verdict="DEFECT"]').count(), { timeout: 120_000 }).toBe(3);
  });

  it('works offline once loaded (service worker)', async () => {
    const page = s.page;
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });
    await s.context.setOffline(true);
    try {
      await page.reload();
      await waitReady(page);
      await go(page, 'inspect');
      await page.setInputFiles('[data-testid="inspect-drop-files"]', mtd('test', 'good', set.good[2]));
      await expect.poll(async () => page.locator('[data-testid="results-table"] tbody tr[data-verdict="OK"], [data-testid="results-table"] tbody tr[data-verdict="DEFECT"]').count(), { timeout: 120_000 }).toBe(4);
    } finally {
      await s.context.setOffline(false);
    }
  });

  it('exports the model file, and imports it back after deleting the model', async () => {
    const page = s.page;
    await go(page, 'models');
    const row = page.locator('[data-testid="model-row"][data-model-name="MTD tiles"]');
    const [download] = await Promise.all([page.waitForEvent('download'), row.locator('button', { hasText: 'Export' }).click()]);
    expect(download.suggestedFilename()).toBe('MTD_tiles.differnet');
    const file = path.join(tempDir('export'), 'MTD_tiles.differnet');
    await download.saveAs(file);

    // Switching the active model (here to an imported copy) leaves the Inspect rows with the verdicts of
    // the model that scored them, visibly tied to it, until the user re-scores them.
    await go(page, 'inspect');
    const verdicts = () => page.$$eval('[data-testid="results-table"] tbody tr', (trs) => (trs as HTMLTableRowElement[]).map((tr) => tr.getAttribute('data-verdict')));
    const before = await verdicts();
    await go(page, 'models');
    await page.setInputFiles('[data-testid="model-import-files"]', file);
    // The same model is already here: the app says so, and a copy is one click away.
    await page.waitForSelector('[data-testid="import-duplicate"]');
    await page.click('[data-testid="import-copy"]');
    await page.locator('[data-testid="model-row"][data-model-name="MTD tiles (2)"]').waitFor();
    await go(page, 'inspect');
    await page.waitForSelector('[data-testid="stale-results"]');
    expect(await verdicts()).toEqual(before);
    expect(await page.$$eval('[data-testid="row-model"]', (tds) => tds.map((td) => td.textContent))).toEqual(before.map(() => 'MTD tiles v1'));
    await page.click('[data-testid="rescore"]');
    await page.waitForSelector('[data-testid="stale-results"]', { state: 'detached', timeout: 120_000 });
    await expect.poll(verdicts, { timeout: 120_000 }).toEqual(before); // the same model file, the same verdicts
    await go(page, 'models');
    await page.locator('[data-testid="model-row"][data-model-name="MTD tiles (2)"]').locator('button', { hasText: 'Delete' }).click();
    await page.click('button:has-text("Delete for good")');
    await expect.poll(() => page.locator('[data-testid="model-row"]').count()).toBe(1);

    await row.locator('button', { hasText: 'Delete' }).click();
    await page.click('button:has-text("Delete for good")');
    await expect.poll(() => page.locator('[data-testid="model-row"]').count()).toBe(0);
    // A damaged copy is refused with a message; the good one comes back with its threshold.
    const broken = path.join(path.dirname(file), 'broken.differnet');
    const bytes = readFileSync(file);
    writeFileSync(broken, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await page.setInputFiles('[data-testid="model-import-files"]', broken);
    await expect.poll(() => page.locator('[data-testid="notice-error"]').last().textContent()).toMatch(/broken\.differnet was not imported/);
    await page.setInputFiles('[data-testid="model-import-files"]', file);
    const back = page.locator('[data-testid="model-row"][data-model-name="MTD tiles"]');
    await back.waitFor();
    expect(await back.textContent()).toContain(String(threshold));
    await back.locator('button', { hasText: 'Rename' }).click();
    await page.fill('[data-testid="rename-input"]', 'Tiles, line 2');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="model-row"][data-model-name="Tiles, line 2"]').waitFor();
    expect(await page.locator('[data-testid="active-model"] option:checked').textContent()).toMatch(/^Tiles, line 2/);
    await shot(page, '08-models-imported');
  });

  it('made no request to any other origin and logged no errors', () => {
    expect(s.foreignRequests).toEqual([]);
    expect(s.problems).toEqual([]);
  });
});
