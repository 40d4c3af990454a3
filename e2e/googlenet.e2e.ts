// GoogLeNet in the app, as a user meets it (issue 20): BVLC's caffemodel dropped on the weights panel, a new
// model that picks it with its own features (one 224 px pass of inception_3b-4e), training on a few MTD
// tiles, and inspection with a defect map; a truncated or random caffemodel leaves all of that as it was.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launch, type Session } from './browser';
import { canvasPixels, go, numberIn, open, shot, SHOTS, text } from './app';
import { goodTrainImages, mtd, tempDir } from './data';
import { sharedPath } from '../test/support/shared';

const baseUrl = inject('baseUrl');
const CAFFEMODEL = () => sharedPath('weights', 'bvlc_googlenet.caffemodel');
// A tile a person calls defective at a glance, and a good one from the test set.
const DEFECTIVE = () => mtd('test', 'fray', 'exp1_num_136254.jpg');
const GOOD_NAME = () => readdirSync(mtd('test', 'good')).filter((f) => f.endsWith('.jpg')).sort()[0];
const GOOD = () => mtd('test', 'good', GOOD_NAME());

describe.sequential('GoogLeNet in the app (BVLC caffemodel, MTD)', () => {
  let s: Session;
  let weightsLine = '';
  let modelRow = '';

  beforeAll(async () => {
    s = await launch(baseUrl.replace(/\/$/, ''));
    await s.page.setViewportSize({ width: 1440, height: 1000 });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("loads BVLC's caffemodel dropped on the weights panel and names GoogLeNet", async () => {
    const page = s.page;
    await open(page, baseUrl);
    // Nothing is loaded yet: the new-model form and the download both offer GoogLeNet.
    expect(await page.inputValue('[data-testid="new-model-backbone"]')).toBe('googlenet');
    expect(await page.inputValue('[data-testid="weights-url"]')).toBe('http://dl.caffe.berkeleyvision.org/bvlc_googlenet.caffemodel');
    expect(await page.getAttribute('[data-testid="weights-drop-files"]', 'accept')).toMatch(/(^|,)\.caffemodel(,|$)/);
    await page.setInputFiles('[data-testid="weights-drop-files"]', CAFFEMODEL());
    await page.waitForSelector('[data-testid="weights-googlenet"] .ok-text', { timeout: 120_000 });
    weightsLine = await text(page, '[data-testid="weights-googlenet"]');
    expect(weightsLine).toMatch(/^GoogLeNet \(BVLC\): loaded from bvlc_googlenet\.caffemodel · \d+\.\d\d M parameters · \w+/);
    await expect.poll(() => page.locator('[data-testid="notice-info"]').allTextContents()).toContainEqual(expect.stringMatching(/bvlc_googlenet\.caffemodel: GoogLeNet \(BVLC\) weights loaded/));
    // GoogLeNet is here now: the download offers a backbone that is not.
    expect(await page.inputValue('[data-testid="weights-url-backbone"]')).not.toBe('googlenet');
    expect(await page.inputValue('[data-testid="weights-url"]')).not.toMatch(/googlenet/);
    await page.locator('[data-testid="weights-panel"]').screenshot({ path: path.join(SHOTS, 'googlenet-01-weights-panel.png') });
  });

  it('a new model picks GoogLeNet, says why, and trains at 224 px, one scale, on its mid-level taps', async () => {
    const page = s.page;
    expect(await page.inputValue('[data-testid="new-model-backbone"]')).toBe('googlenet');
    expect(await text(page, '[data-testid="backbone-evidence"]')).toMatch(/^GoogLeNet's mid-level features find the most defects: on Magnetic Tile Defects .*\(BENCHMARKS\.md\)\.$/);
    await shot(page, 'googlenet-02-new-model-form');
    await page.fill('[data-testid="new-model-name"]', 'MTD GoogLeNet');
    await page.click('button:has-text("Create model")');
    await page.waitForSelector('[data-testid="teach-screen"]');
    expect(await page.inputValue('[data-testid="teach-backbone"]')).toBe('googlenet');
    await page.setInputFiles('[data-testid="teach-drop-files"]', goodTrainImages(30));
    await expect.poll(() => text(page, '[data-testid="teach-count"]'), { timeout: 60_000 }).toMatch(/^30 good images/);
    // The model's settings are GoogLeNet's own, and the form shows them.
    // GoogLeNet's flow is whitened and trains for 2 passes (core/model/settings.ts, WHITENED_PASSES).
    expect(await text(page, '[data-testid="settings-details"] summary')).toMatch(/^Settings: 224 px, 1 scale, inception_3b \+ 4a \+ 4c \+ 4e, 1×2 passes, flow 8×192 on whitened features to the power 0.5, /);
    await page.click('[data-testid="settings-details"] summary');
    expect(await page.isChecked('[data-testid="whiten-toggle"]')).toBe(true);
    expect(await page.inputValue('select[aria-label="Working size"]')).toBe('224');
    const field = (label: string) => page.locator(`label.field:has(> span:text-is("${label}"))`).locator('input');
    expect(await field('Scales').inputValue()).toBe('1');
    expect(await text(page, '[data-testid="active-preset"]')).toBe('In use: Balanced');
    await shot(page, 'googlenet-03-teach');
    // The default model as a user gets it: 24 images through one 224 px pass each make it quick.
    await page.click('[data-testid="train-button"]');
    await page.waitForSelector('[data-testid="train-progress"]');
    await page.waitForSelector('[data-testid="threshold"]', { timeout: 600_000 });
    expect(await numberIn(page, '[data-testid="threshold"]')).toBeGreaterThan(0);
    // A fifth of the 30 (6) is held out and sets the threshold.
    expect(await text(page, '[data-testid="training-summary"]')).toMatch(/trained on 24 images \(6 held out\)/);
    await go(page, 'models');
    modelRow = (await page.locator('[data-testid="model-row"][data-model-name="MTD GoogLeNet"]').textContent()) ?? '';
    expect(modelRow).toMatch(/GoogLeNet \(BVLC\)\s*v1/);
  });

  it('inspects a good and a defective tile: verdicts, scores and a defect map', async () => {
    const page = s.page;
    await go(page, 'inspect');
    await page.setInputFiles('[data-testid="inspect-drop-files"]', [DEFECTIVE(), GOOD()]);
    const scored = '[data-testid="results-table"] tbody tr[data-verdict="DEFECT"], [data-testid="results-table"] tbody tr[data-verdict="OK"]';
    await expect.poll(() => page.locator(scored).count(), { timeout: 300_000 }).toBe(2);
    const rows = await page.$$eval('[data-testid="results-table"] tbody tr', (trs) =>
      (trs as HTMLTableRowElement[]).map((tr) => ({
        name: tr.cells[0].textContent!.trim(),
        verdict: tr.getAttribute('data-verdict'),
        raw: Number(tr.querySelector('[data-testid="row-score"]')?.getAttribute('data-raw')),
      })),
    );
    console.log('googlenet inspect', rows);
    for (const r of rows) {
      expect(['OK', 'DEFECT']).toContain(r.verdict);
      expect(Number.isFinite(r.raw) && r.raw > 0).toBe(true);
    }
    const defect = rows.find((r) => r.name.includes('exp1_num_136254'))!;
    const good = rows.find((r) => r.name.includes(GOOD_NAME()))!;
    // The fray is plain to see: the default model flags it and scores it far above a good tile (16.3 against
    // 0.78 raw in one run; a threshold from 6 held-out tiles is not precise enough to assert the good one's verdict).
    expect(defect.verdict).toBe('DEFECT');
    expect(defect.raw).toBeGreaterThan(2 * good.raw);
    await page.locator('[data-testid="results-table"] tbody tr', { hasText: 'exp1_num_136254' }).locator('button').click();
    await page.waitForSelector('[data-testid="inspect-detail"] canvas');
    // MTD tiles are grey: any hue on the canvas comes from the defect map.
    const hued = async () => {
      const c = await canvasPixels(page, '[data-testid="heatmap-canvas"]');
      let n = 0;
      for (let i = 0; i < c.data.length; i += 4) if (Math.max(c.data[i], c.data[i + 1], c.data[i + 2]) - Math.min(c.data[i], c.data[i + 1], c.data[i + 2]) > 30) n++;
      return n / Math.max(1, c.data.length / 4);
    };
    await expect.poll(hued, { timeout: 120_000 }).toBeGreaterThan(0.01);
    await shot(page, 'googlenet-04-inspect');
  });

  it.each([
    ['the first 1 MB of the caffemodel', 'bvlc_googlenet.caffemodel', () => readFileSync(CAFFEMODEL()).subarray(0, 1 << 20), /^bvlc_googlenet\.caffemodel: .*truncated/],
    ['random bytes', 'x.caffemodel', () => Uint8Array.from({ length: 65536 }, (_, i) => (Math.imul(i + 1, 2654435761) >>> 13) & 255), /^x\.caffemodel: /],
  ])('%s dropped on the panel is one clear sentence; the loaded weights and the model stay', async (_what, name, bytes, message) => {
    const page = s.page;
    await go(page, 'models');
    const file = path.join(tempDir('bad-caffe'), name);
    writeFileSync(file, bytes());
    await page.setInputFiles('[data-testid="weights-drop-files"]', file);
    const err = page.locator('[data-testid="weights-error"]');
    await expect.poll(async () => (await err.count()) > 0 && (await err.textContent())?.startsWith(name), { timeout: 60_000 }).toBe(true);
    const said = (await err.textContent())!.trim();
    expect(said).toMatch(message);
    // One sentence: nothing ends one and starts another.
    expect(said).not.toMatch(/[.!?]\s+[A-Z]/);
    expect(await text(page, '[data-testid="weights-googlenet"]')).toBe(weightsLine);
    expect(await page.locator('[data-testid="model-row"][data-model-name="MTD GoogLeNet"]').textContent()).toBe(modelRow);
    expect(s.problems).toEqual([]);
  });
});
