// Learning from mistakes (issue 22, section 1): a false alarm marked good recalibrates the threshold and
// the trail records the correction; a defect is filed in the model's labelled set; a retraining makes v2;
// v1 and v2 are compared on that set and v1 made current again; all of it survives a reload.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { seriousViolations } from './a11y';
import { launch, type Session } from './browser';
import { go, loadWeights, open, shot, text, trainTiny, waitReady } from './app';
import { goodTrainImages, mtd, SQUEEZENET, tempDir } from './data';
import { writeFakeCameraClip } from './fakeCamera';

const baseUrl = inject('baseUrl');
let s: Session;
let lot: string;
/** The flagged image marked good in the first test. */
let markedGood = '';
/** Corrections the marks should leave in History: a mark that agrees with the verdict records none. */
let corrections = 0;

type Page = Session['page'];

const scored = (page: Page) => page.locator('[data-testid="results-table"] tbody tr[data-verdict="OK"], [data-testid="results-table"] tbody tr[data-verdict="DEFECT"]');

async function rowsOf(page: Page): Promise<{ name: string; verdict: string; raw: number }[]> {
  return page.$$eval('[data-testid="results-table"] tbody tr', (trs) =>
    trs.map((tr) => ({ name: tr.querySelector('button')!.textContent!.trim(), verdict: tr.getAttribute('data-verdict') ?? '', raw: Number(tr.querySelector('[data-testid="row-score"]')?.getAttribute('data-raw')) })),
  );
}

async function selectRow(page: Page, name: string): Promise<void> {
  await page.locator('[data-testid="results-table"] tbody tr', { has: page.locator(`button:text-is("${name}")`) }).locator('button').first().click();
  await expect.poll(() => text(page, '[data-testid="inspect-detail"] h2')).toBe(name);
}

async function thresholdOf(page: Page, version: number): Promise<number> {
  return Number(await page.getAttribute(`[data-testid="version-row"][data-version="${version}"] [data-testid="version-threshold"]`, 'data-raw'));
}

/** Null, or by how much the page scrolls sideways and the outermost elements that stick out. */
function sideways(page: Page): Promise<string | null> {
  return page.evaluate(() => {
    const by = document.documentElement.scrollWidth - document.documentElement.clientWidth;
    if (by <= 0) return null;
    const right = document.documentElement.clientWidth + 1;
    const out = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > right && !e.closest('.table-wrap, nav') && e.parentElement!.getBoundingClientRect().right <= right);
    return `${by} px: ${out.slice(0, 6).map((e) => `${e.tagName.toLowerCase()}.${(e.className || '').toString().split(' ').join('.')}[${e.getAttribute('data-testid') ?? ''}]`).join(', ')}`;
  });
}

/**
 * Screenshots at desktop and phone width, axe clean, nothing sticking out sideways. `only`: measure that
 * element instead of the whole page (a dialog over another screen, whose own charts are not this test's).
 */
async function check(page: Page, name: string, scrollTo?: string, only?: string): Promise<void> {
  for (const [w, h] of [
    [1440, 900],
    [390, 844],
  ] as const) {
    await page.setViewportSize({ width: w, height: h });
    // A chart's tooltip under a resting pointer would stick out of a phone-wide page.
    await page.mouse.move(1, 1);
    if (scrollTo) await page.locator(scrollTo).scrollIntoViewIfNeeded();
    await shot(page, `learn-${w}-${name}`);
    expect((await seriousViolations(page)).violations, `${name} at ${w} px`).toEqual([]);
    if (only) {
      const box = (await page.locator(only).boundingBox())!;
      expect(box.x + box.width, `${name} at ${w} px sticks out sideways`).toBeLessThanOrEqual(w);
    } else expect(await sideways(page), `${name} at ${w} px scrolls sideways`).toBeNull();
  }
  await page.setViewportSize({ width: 1400, height: 1000 });
}

describe.sequential('learning from mistakes (issue 22, section 1)', () => {
  beforeAll(async () => {
    s = await launch(baseUrl.replace(/\/$/, ''));
    lot = path.join(tempDir('learn'), 'lot-9');
    mkdirSync(lot, { recursive: true });
    copyFileSync(mtd('test', 'fray', 'exp1_num_136254.jpg'), path.join(lot, 'fray-136254.jpg'));
    copyFileSync(mtd('test', 'break', 'exp1_num_284482.jpg'), path.join(lot, 'break-284482.jpg'));
    for (const f of readdirSync(mtd('test', 'good')).sort().slice(0, 4)) copyFileSync(mtd('test', 'good', f), path.join(lot, `good-${f}`));
  });
  afterAll(async () => {
    await s?.close();
  });

  it('marks a false alarm good, recalibrates, and the threshold and the trail show it', async () => {
    const page = s.page;
    await open(page, baseUrl);
    await loadWeights(page, SQUEEZENET());
    await trainTiny(page, 'Learn tiles', goodTrainImages(10));
    await go(page, 'versions');
    await page.waitForSelector('[data-testid="version-row"][data-version="1"][data-current]');
    expect(await text(page, '[data-testid="version-row"][data-version="1"] [data-testid="version-change"]')).toBe('first training on 10 good images');
    const before = await thresholdOf(page, 1);

    await go(page, 'inspect');
    await page.setInputFiles('[data-testid="inspect-drop-folder"]', lot);
    await expect.poll(() => scored(page).count(), { timeout: 300_000 }).toBe(6);
    const rows = await rowsOf(page);
    // A flagged good part if the tiny model made one (two held-out images set a low threshold), else any flagged image.
    const flagged = rows.filter((r) => r.verdict === 'DEFECT');
    expect(flagged.length, 'the tiny model flags something').toBeGreaterThan(0);
    const falseAlarm = flagged.find((r) => r.name.includes('good-')) ?? flagged[0];
    expect(falseAlarm.raw).toBeGreaterThanOrEqual(before);

    markedGood = falseAlarm.name;
    await selectRow(page, falseAlarm.name);
    await page.click('[data-testid="inspect-detail"] [data-testid="mark-good"]');
    await page.waitForSelector('[data-testid="inspect-detail"] [data-testid="learn-offer"]');
    corrections += 1;
    // The buttons show the mark instead of inviting the same click again.
    expect(await text(page, '[data-testid="inspect-detail"] [data-testid="marked"]')).toBe('✓ Marked good');
    expect(await page.locator('[data-testid="inspect-detail"] [data-testid="mark-good"]').count()).toBe(0);
    expect(await text(page, '[data-testid="inspect-detail"] [data-testid="mark-defect"]')).toBe('No, it is a defect');
    expect(await text(page, '[data-testid="learn-offer"]')).toMatch(/^1 part marked good that the threshold of "Learn tiles" v1 does not include yet/);
    await page.locator('[data-testid="learn-offer"]').scrollIntoViewIfNeeded();
    await check(page, 'inspect-offer', '[data-testid="learn-offer"]');
    // Keyboard: the offer's buttons are reached and pressed without a pointer.
    await page.focus('[data-testid="recalibrate-now"]');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="notice-info"]', { hasText: 'recalibrated with 1 image marked good' }).waitFor({ timeout: 120_000 });
    // Nothing waits for the threshold any more: no stale offer.
    await expect.poll(() => page.locator('[data-testid="inspect-detail"] [data-testid="learn-offer"]').count()).toBe(0);
    await check(page, 'inspect-recalibrated', '[data-testid="mark-wrong"]');

    await go(page, 'versions');
    await expect.poll(() => thresholdOf(page, 1)).toBeGreaterThan(before);
    // Two held-out images and the marked one: too few for 5 %, so the threshold sits just above the marked part's score.
    const after = await thresholdOf(page, 1);
    // Recalibration scores without the map, Inspect with it: float32 sums in another order differ by about 1e-6
    // relative (measured 6.3474627 against 6.3474641), so "just above" is checked to that precision.
    expect(after).toBeGreaterThan(falseAlarm.raw * (1 - 1e-5));
    expect(after).toBeLessThan(falseAlarm.raw * 1.001);
    expect(await text(page, '[data-testid="version-row"][data-version="1"] [data-testid="version-change"]')).toBe('first training on 10 good images; recalibrated with 1 image marked good');
    // The recalibrated threshold is in the version's name, so verdicts before and after it are told apart.
    expect(await text(page, '[data-testid="version-row"][data-version="1"] [data-testid="version-label"]')).toBe('v1.1');

    await go(page, 'history');
    const fix = page.locator('[data-testid="history-row"][data-kind="correction"]');
    await expect.poll(() => fix.count()).toBe(1);
    expect(await fix.getAttribute('data-verdict')).toBe('OK');
    expect(await fix.textContent()).toContain(falseAlarm.name);
  });

  it('files a defect, retrains into v2, and compares v1 and v2 on the filed set', async () => {
    const page = s.page;
    await go(page, 'inspect');
    const rows = await rowsOf(page);
    const defect = rows.find((r) => r.name.includes('fray-'))!;
    await selectRow(page, defect.name);
    await page.click('[data-testid="inspect-detail"] [data-testid="mark-defect"]');
    await page.locator('[data-testid="notice-info"]', { hasText: 'was filed as a defect of "Learn tiles"' }).waitFor();
    if (defect.verdict === 'DEFECT') await page.locator('[data-testid="notice-info"]', { hasText: 'the DEFECT verdict stands (a confirmation, nothing to correct)' }).waitFor();
    else corrections += 1;
    expect(await text(page, '[data-testid="inspect-detail"] [data-testid="marked"]')).toBe('✓ Filed as a defect');

    await go(page, 'versions');
    await expect.poll(() => text(page, '[data-testid="filed-count"]')).toBe('1');
    expect(await text(page, '[data-testid="learn-offer-none"]')).toBe('No part marked good is waiting for the threshold of v1.1.');
    await check(page, 'versions-nothing-waiting', '[data-testid="learn-offer"]');
    await page.click('[data-testid="retrain"]');
    await page.waitForSelector('[data-testid="version-row"][data-version="2"][data-current]', { timeout: 600_000 });
    expect(await text(page, '[data-testid="version-row"][data-version="2"] [data-testid="version-change"]')).toBe('retrained on 11 good images: 1 new since v1, 1 of them marked good after a false alarm');
    expect(await page.locator('[data-testid="version-row"]').count()).toBe(2);

    // A good part neither version has seen, marked good after v2: the fair good side of the comparison.
    await go(page, 'inspect');
    const fresh = (await rowsOf(page)).find((r) => r.name.includes('good-') && r.name !== markedGood)!;
    await selectRow(page, fresh.name);
    await page.click('[data-testid="inspect-detail"] [data-testid="mark-good"]');
    await page.waitForSelector('[data-testid="inspect-detail"] [data-testid="learn-offer"]');
    if (fresh.verdict !== 'OK') corrections += 1;

    await go(page, 'versions');
    expect(await page.inputValue('[data-testid="compare-a"]')).toBe('1');
    expect(await page.inputValue('[data-testid="compare-b"]')).toBe('2');
    await page.click('[data-testid="compare-run"]');
    await page.waitForSelector('[data-testid="compare-result"]', { timeout: 300_000 });
    expect(await text(page, '[data-testid="compare-set"]')).toMatch(/^On [1-9]\d* good images? neither version trained on and 1 filed defect, each version at its own threshold/);
    const aurocs = await page.$$eval('[data-testid="compare-auroc"]', (tds) => tds.map((td) => td.textContent!.trim()));
    expect(aurocs).toHaveLength(2);
    for (const a of aurocs) expect(Number(a)).toBeGreaterThanOrEqual(0);
    const recalls = await page.$$eval('[data-testid="compare-recall"]', (tds) => tds.map((td) => td.textContent!.trim()));
    for (const r of recalls) expect(r).toMatch(/^[01] of 1 · (0|100)\.0 %$/);
    await page.waitForSelector('[data-testid="compare-chart"] svg');
    await check(page, 'versions', '[data-testid="compare-result"]');
  });

  it('rolls back to v1 (nothing deleted), and everything is there after a reload', async () => {
    const page = s.page;
    await page.click('[data-testid="version-row"][data-version="1"] [data-testid="rollback"]');
    await page.click('[data-testid="rollback-confirm"]');
    await page.waitForSelector('[data-testid="version-row"][data-version="1"][data-current]');
    expect(await page.locator('[data-testid="version-row"]').count()).toBe(2);
    await page.locator('[data-testid="notice-info"]', { hasText: 'is back on v1; v2 and every other version stay saved' }).waitFor();

    await page.reload();
    await waitReady(page);
    await page.waitForSelector('[data-testid="version-row"][data-version="1"][data-current]');
    expect(await page.locator('[data-testid="version-row"]').count()).toBe(2);
    expect(await text(page, '[data-testid="filed-count"]')).toBe('1');
    await go(page, 'teach');
    // Teach shows the good images with both marked parts.
    expect(await text(page, '[data-testid="teach-count"]')).toMatch(/^12 good images/);
    // v1's threshold came from 2 held-out images and the part marked good: said as such, not "held out 3".
    expect(await text(page, '[data-testid="few-images-warning"]')).toContain('The threshold of v1.1 rests on 3 good images (2 held out + 1 marked good)');
    await go(page, 'history');
    await expect.poll(() => page.locator('[data-testid="history-row"][data-kind="correction"]').count()).toBe(corrections);
  });

  it('opens the filed set in Evaluate, whose detail view can mark a verdict wrong too', async () => {
    const page = s.page;
    await go(page, 'versions');
    await page.click('[data-testid="use-in-evaluate"]');
    await page.waitForSelector('main[data-screen="evaluate"]');
    await expect.poll(() => text(page, '[data-testid="eval-count"]')).toMatch(/^\d+ images/);
    await page.click('[data-testid="eval-run"]');
    await page.waitForSelector('[data-testid="auroc"]', { timeout: 300_000 });
    await page.locator('[data-testid="eval-open"]').first().click();
    await page.waitForSelector('[data-testid="eval-detail"] [data-testid="mark-good"]');
    await page.waitForSelector('[data-testid="eval-detail-map-ready"]', { state: 'attached', timeout: 120_000 });
    await check(page, 'evaluate-detail', undefined, '[data-testid="eval-detail"]');
    await page.keyboard.press('Escape');
  });

  it('made no request to any other origin and logged no errors', () => {
    expect(s.foreignRequests).toEqual([]);
    expect(s.problems).toEqual([]);
  });
});

describe.sequential('marking a Live verdict wrong (fake camera)', () => {
  let live: Session;
  beforeAll(async () => {
    const clip = writeFakeCameraClip(mtd('train', 'good', 'exp1_num_10181.jpg'), mtd('test', 'break', 'exp2_num_284506.jpg'));
    live = await launch(baseUrl.replace(/\/$/, ''), { args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${clip}`] });
  });
  afterAll(async () => {
    await live?.close();
  });

  it('files the last scored frame as a defect, with the correction in History', async () => {
    const page = live.page;
    await open(page, baseUrl, 'models');
    await loadWeights(page, SQUEEZENET());
    await go(page, 'live');
    await page.click('[data-testid="new-demo-model"]');
    await page.click('button:has-text("Start camera")');
    await page.waitForFunction(() => (document.querySelector('.stage video') as HTMLVideoElement | null)?.videoWidth === 640, undefined, { timeout: 30_000 });
    await page.fill('input[aria-label="Frames to capture"]', '16');
    await page.click('[data-testid="capture-good"]');
    // The fake camera's clip repeats frames, and the same picture twice is skipped: wait for the capture to end.
    await expect.poll(async () => Number.parseInt(await text(page, '[data-testid="qt-count"]'), 10), { timeout: 60_000 }).toBeGreaterThanOrEqual(10);
    await expect.poll(() => text(page, '[data-testid="capture-good"]'), { timeout: 60_000 }).toBe('Capture good frames');
    await page.click('[data-testid="live-train"]');
    await expect.poll(() => page.getAttribute('[data-testid="live-verdict"]', 'data-verdict'), { timeout: 300_000, interval: 500 }).toMatch(/^(OK|DEFECT)$/);
    await page.click('[data-testid="live-pause"]');
    const verdict = await page.getAttribute('[data-testid="live-verdict"]', 'data-verdict');
    await page.click('[data-testid="mark-wrong"] [data-testid="mark-defect"]');
    const said = verdict === 'DEFECT' ? /live frame .* was filed as a defect of .*the DEFECT verdict stands \(a confirmation/ : /live frame .* was filed as a defect of .*the correction is in History/;
    await page.locator('[data-testid="notice-info"]', { hasText: said }).waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="mark-wrong"]').scrollIntoViewIfNeeded();
    await check(page, 'live-mark', '[data-testid="mark-wrong"]');
    await go(page, 'versions');
    await expect.poll(() => text(page, '[data-testid="filed-count"]')).toBe('1');
    await go(page, 'history');
    const fix = page.locator('[data-testid="history-row"][data-kind="correction"]');
    await expect.poll(() => fix.count()).toBe(verdict === 'DEFECT' ? 0 : 1);
    if (verdict !== 'DEFECT') expect(await fix.getAttribute('data-verdict')).toBe('DEFECT');
    expect(live.problems).toEqual([]);
  });
});
