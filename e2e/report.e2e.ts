// Issue 22, sections 3, 5 and 7: the first-run guide, the "?" shortcut list and the Help page; the
// printable report of a batch and of a day, printed to PDF on A4 and Letter; the installable app (its
// manifest, its icons) and the update flow of the service worker.
import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { seriousViolations } from './a11y';
import { pdfText } from './pdf';
import { launch, type Session } from './browser';
import { go, loadWeights, open, SHOTS, shot, text, trainTiny, waitReady } from './app';
import { goodTrainImages, mtd, SQUEEZENET, tempDir } from './data';
import { serve, type RunningServer } from '../scripts/serve';

const baseUrl = inject('baseUrl');
let s: Session;

/** Screenshots at desktop and phone width, each checked with axe. */
async function looked(page: Page, name: string, widths: readonly number[] = [1440, 390]): Promise<void> {
  for (const w of widths) {
    await page.setViewportSize({ width: w, height: w > 600 ? 900 : 844 });
    await shot(page, `report-${name}-${w}`);
    const sideways = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(sideways, `${name} at ${w} px scrolls sideways`).toBeLessThanOrEqual(0);
    expect((await seriousViolations(page)).violations, `${name} at ${w} px`).toEqual([]);
  }
  await page.setViewportSize({ width: 1400, height: 1000 });
}

/** Pages and the size of the first (points) of a PDF as Chromium writes it (uncompressed object dictionaries). */
function pdfPages(pdf: Buffer): { pages: number; width: number; height: number } {
  const body = pdf.toString('latin1');
  const pages = body.match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length ?? 0;
  const box = /\/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]/.exec(body);
  return { pages, width: box ? Number(box[1]) : NaN, height: box ? Number(box[2]) : NaN };
}

/** Prints the report as the browser's "Save as PDF" does, on the paper chosen on the page; checks the paper's size. */
async function printBoth(page: Page, name: string, says: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [paper, w, h] of [
    ['a4', 595.3, 841.9],
    ['letter', 612, 792],
  ] as const) {
    await page.selectOption('[data-testid="report-paper"]', paper);
    await page.emulateMedia({ media: 'print' });
    // On paper only the sheet: no header, no controls, no toasts.
    expect(await page.locator('.app-header').isVisible()).toBe(false);
    expect(await page.locator('[data-testid="report-print"]').isVisible()).toBe(false);
    const pdf = await page.pdf({ preferCSSPageSize: true, printBackground: true });
    writeFileSync(path.join(SHOTS, `report-${name}-${paper}.pdf`), pdf);
    const p = pdfPages(pdf);
    expect(Math.abs(p.width - w), `${paper} width ${p.width}`).toBeLessThan(2);
    expect(Math.abs(p.height - h), `${paper} height ${p.height}`).toBeLessThan(2);
    counts[paper] = p.pages;
    // The printed text, read back from the PDF (kerning splits words, so spaces are ignored on both sides).
    const flat = (t: string) => t.normalize('NFKC').replace(/\s+/g, '');
    const printed = flat(pdfText(pdf).join(' '));
    for (const t of says) expect(printed, `the ${paper} PDF says "${t}"`).toContain(flat(t));
    await page.emulateMedia({ media: 'screen' });
  }
  return counts;
}

describe.sequential('first run, help, reports (issue 22 §3, §7)', () => {
  let lot: string;
  beforeAll(async () => {
    s = await launch(baseUrl.replace(/\/$/, ''));
    lot = path.join(tempDir('report-lot'), 'lot-12');
    mkdirSync(lot, { recursive: true });
    copyFileSync(mtd('test', 'fray', 'exp1_num_136254.jpg'), path.join(lot, 'fray-136254.jpg'));
    copyFileSync(mtd('test', 'break', 'exp1_num_284482.jpg'), path.join(lot, 'break-284482.jpg'));
    copyFileSync(mtd('test', 'crack', 'exp1_num_32128.jpg'), path.join(lot, 'crack-32128.jpg'));
    for (const f of readdirSync(mtd('test', 'good')).sort().slice(0, 3)) copyFileSync(mtd('test', 'good', f), path.join(lot, `good-${f}`));
  });
  afterAll(async () => {
    await s?.close();
  });

  it('greets a first visit with a three-step guide that is remembered once hidden and comes back from Help', async () => {
    const page = s.page;
    await open(page, baseUrl);
    const steps = page.locator('[data-testid="guide-step"]');
    await steps.first().waitFor();
    expect(await steps.count()).toBe(3);
    expect(await steps.evaluateAll((li) => li.map((l) => l.getAttribute('data-done')))).toEqual(['no', 'no', 'no']);
    expect(await text(page, '[data-testid="first-run-guide"]')).toMatch(/Load backbone weights.*Teach a model.*93 or more.*Inspect/s);
    await looked(page, 'guide');
    await page.click('[data-testid="guide-dismiss"]');
    await page.reload();
    await waitReady(page);
    expect(await page.locator('[data-testid="first-run-guide"]').count()).toBe(0);
    await page.click('[data-testid="help-link"]');
    await page.waitForSelector('main[data-screen="help"]');
    expect(await text(page, '[data-testid="help-screen"]')).toMatch(/runs from 0 to 1.*threshold is always at 0\.5.*19 for 5 %.*teach with 93 or more.*99th percentile/s);
    await looked(page, 'help-empty');
    await page.click('[data-testid="help-show-guide"]');
    await page.waitForSelector('main[data-screen="teach"] [data-testid="first-run-guide"]');
  });

  it('lists the shortcuts on "?", not while typing, and closes on Escape', async () => {
    const page = s.page;
    await page.fill('[data-testid="new-model-name"]', '');
    await page.locator('[data-testid="new-model-name"]').focus();
    await page.keyboard.type('a?');
    expect(await page.inputValue('[data-testid="new-model-name"]')).toBe('a?');
    expect(await page.locator('[data-testid="shortcuts"]').isVisible()).toBe(false);
    await page.fill('[data-testid="new-model-name"]', '');
    await page.locator('main').focus();
    await page.keyboard.press('?');
    await page.waitForSelector('[data-testid="shortcuts"][open]');
    expect(await text(page, '[data-testid="shortcuts"]')).toMatch(/Inspect table.*next image.*Evaluate detail view/s);
    // The focus lands on Close, not on the "Help" link at the end of the text.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('shortcuts-close');
    await looked(page, 'shortcuts');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="shortcuts"]:not([open])', { state: 'attached' });
  });

  it('ticks the guide as the user loads weights, teaches and inspects; Help then quotes the model’s own numbers', async () => {
    const page = s.page;
    await loadWeights(page, SQUEEZENET());
    await trainTiny(page, 'Report tiles', goodTrainImages(10));
    await go(page, 'history');
    await page.fill('[data-testid="station-name"]', 'Line 4, bench 1');
    await page.fill('[data-testid="operator-name"]', 'Ravi');
    await page.click('[data-testid="station-save"]');
    await go(page, 'inspect');
    await page.setInputFiles('[data-testid="inspect-drop-folder"]', lot);
    await expect.poll(() => page.locator('[data-testid="results-table"] tbody tr[data-verdict="OK"], [data-testid="results-table"] tbody tr[data-verdict="DEFECT"]').count(), { timeout: 300_000 }).toBe(6);
    await go(page, 'teach');
    await expect.poll(() => page.locator('[data-testid="guide-step"]').evaluateAll((li) => li.map((l) => l.getAttribute('data-done')))).toEqual(['yes', 'yes', 'yes']);
    await page.click('[data-testid="help-link"]');
    await page.waitForSelector('[data-testid="help-scale"]');
    const scale = await page.$$eval('[data-testid="help-scale"] tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')));
    const threshold = scale.find((r) => r[0] === 'the threshold')!;
    expect(threshold.slice(2)).toEqual(['0.500', 'DEFECT']);
    expect(scale.find((r) => r[0] === 'middle held-out good image')![2]).toBe('0.250');
    expect(await text(page, '[data-testid="help-model-threshold"]')).toMatch(/^Report tiles: /);
    await looked(page, 'help-model');
  });

  it('prints a report of the Inspect batch: counts, model and guarantee, flagged images with overlays, station, operator, date; A4 and Letter', async () => {
    const page = s.page;
    await go(page, 'inspect');
    const defects = await page.locator('[data-testid="results-table"] tbody tr[data-verdict="DEFECT"]').count();
    const oks = await page.locator('[data-testid="results-table"] tbody tr[data-verdict="OK"]').count();
    await page.click('[data-testid="inspect-report"]');
    await page.waitForSelector('[data-testid="report"][data-ready="yes"]', { timeout: 60_000 });
    expect(await text(page, '[data-testid="report-ok"]')).toBe(String(oks));
    expect(await text(page, '[data-testid="report-defect"]')).toBe(String(defects));
    expect(await text(page, '[data-testid="report-rate"]')).toBe(`${((100 * defects) / (defects + oks)).toFixed(1)} % of judged images`);
    expect(await text(page, '[data-testid="report-station"]')).toBe('Line 4, bench 1');
    expect(await text(page, '[data-testid="report-operator"]')).toBe('Ravi');
    expect(await text(page, '[data-testid="report-model"]')).toMatch(/^Report tiles v1: .*(false alarms|held-out).*Raw DifferNet threshold [\d.e+-]+; shown as 0\.5/);
    const figures = page.locator('[data-testid="report-flagged"]');
    expect(await figures.count()).toBe(defects);
    // Every flagged image is there as its overlay PNG, decoded.
    expect(await figures.locator('img').evaluateAll((imgs) => imgs.every((i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0))).toBe(true);
    expect(defects).toBeGreaterThan(0);
    await looked(page, 'batch');
    // Under print media the page holds what a report needs and nothing of the app around it.
    await page.emulateMedia({ media: 'print' });
    const printed = await page.evaluate(() => document.body.innerText);
    expect(printed).toMatch(/Inspection report: batch[\s\S]*Line 4, bench 1[\s\S]*Ravi[\s\S]*Flagged \(DEFECT\)[\s\S]*Model and threshold[\s\S]*Flagged images/);
    expect(printed).not.toMatch(/Print or save as PDF|Backend/);
    await shot(page, 'report-batch-print-media');
    await page.emulateMedia({ media: 'screen' });
    const flaggedNames = await page.$$eval('[data-testid="report-flagged"] figcaption strong', (els) => els.map((e) => e.textContent ?? ''));
    const pages = await printBoth(page, 'batch', ['Inspection report: batch', 'Line 4, bench 1', 'Ravi', `Flagged (DEFECT) ${defects}`, 'Report tiles v1', 'Flagged images', ...flaggedNames]);
    console.log('batch report pages', pages, { defects, oks });
    // Six images, at most four flagged: a page or two, never one per image nor a blank run.
    for (const n of Object.values(pages)) {
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(3);
    }
  });

  it('prints a report of the day from History, with the same verdicts and their overlays', async () => {
    const page = s.page;
    await go(page, 'history');
    await page.click('[data-testid="history-report"]');
    await page.waitForSelector('[data-testid="report"][data-ready="yes"]', { timeout: 60_000 });
    const today = await page.evaluate(() => {
      const d = new Date();
      return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    });
    expect(await text(page, '#report-title')).toBe(`Inspection report: ${today}`);
    expect(Number(await text(page, '[data-testid="report-ok"]')) + Number(await text(page, '[data-testid="report-defect"]'))).toBe(6);
    expect(await page.locator('[data-testid="report-flagged"] img').count()).toBe(Number(await text(page, '[data-testid="report-defect"]')));
    await looked(page, 'day');
    const pages = await printBoth(page, 'day', [`Inspection report: ${today}`, 'Line 4, bench 1', 'Ravi', 'Report tiles v1']);
    console.log('day report pages', pages);
    for (const n of Object.values(pages)) {
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(3);
    }
    // Another day: no verdicts, said plainly.
    await page.fill('[data-testid="report-from"]', '2020-01-01');
    await page.fill('[data-testid="report-to"]', '2020-01-01');
    await page.waitForSelector('[data-testid="report-empty"]');
  });

  it('opens offline once installed, with its models, its batch and its history, and still inspects', async () => {
    const page = s.page;
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });
    await s.context.setOffline(true);
    try {
      await page.reload();
      await waitReady(page);
      await go(page, 'models');
      await page.locator('[data-testid="model-row"][data-model-name="Report tiles"]').waitFor();
      await go(page, 'history');
      await expect.poll(() => text(page, '[data-testid="history-count"]')).toMatch(/^6 records match/);
      await go(page, 'inspect');
      const scored = page.locator('[data-testid="results-table"] tbody tr[data-verdict="OK"], [data-testid="results-table"] tbody tr[data-verdict="DEFECT"]');
      expect(await scored.count()).toBe(6);
      await page.setInputFiles('[data-testid="inspect-drop-files"]', mtd('test', 'good', readdirSync(mtd('test', 'good')).sort()[5]));
      await expect.poll(() => scored.count(), { timeout: 120_000 }).toBe(7);
      await page.click('[data-testid="help-link"]');
      await page.waitForSelector('[data-testid="help-scale"]');
    } finally {
      await s.context.setOffline(false);
    }
  });

  it('made no request to any other origin and logged no errors', () => {
    expect(s.foreignRequests).toEqual([]);
    expect(s.problems).toEqual([]);
  });
});

describe.sequential('installable, and updated by a reload the user chooses (issue 22 §5)', () => {
  let copy: RunningServer;
  let root: string;
  let u: Session;
  beforeAll(async () => {
    // A copy of the build on its own server: the test rewrites it as a new deployment would.
    root = path.join(tempDir('deploy'), 'dist');
    cpSync(path.resolve(import.meta.dirname, '../dist'), root, { recursive: true });
    copy = await serve({ root });
    u = await launch(copy.url.replace(/\/$/, ''));
  });
  afterAll(async () => {
    await u?.close();
    await copy?.close();
  });

  it('has a manifest Chrome accepts for installing: name, start URL, standalone, icons of 192 and 512 px', async () => {
    const page = u.page;
    await open(page, copy.url);
    const manifest = await page.evaluate(async () => (await fetch('manifest.webmanifest')).json());
    expect(manifest).toMatchObject({ name: 'DifferNet Inspector', short_name: 'DifferNet', start_url: './', display: 'standalone' });
    const sizes = await page.evaluate(
      (icons: { src: string }[]) =>
        Promise.all(
          icons.map(
            (i) =>
              new Promise<string>((resolve) => {
                const img = new Image();
                img.onload = () => resolve(`${img.naturalWidth}x${img.naturalHeight}`);
                img.onerror = () => resolve('broken');
                img.src = i.src;
              }),
          ),
        ),
      manifest.icons,
    );
    expect(sizes).toEqual(manifest.icons.map((i: { sizes: string }) => i.sizes));
    expect(sizes).toEqual(expect.arrayContaining(['192x192', '512x512']));
    // Chrome's own verdict, through the DevTools protocol: the manifest parses and nothing stops an install.
    const cdp = await u.context.newCDPSession(page);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, undefined, { timeout: 30_000 });
    const parsed = (await cdp.send('Page.getAppManifest')) as { errors: { message: string }[] };
    expect(parsed.errors).toEqual([]);
    const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as { installabilityErrors: { errorId: string }[] };
    expect(installabilityErrors.map((e) => e.errorId)).toEqual([]);
  });

  it('offers a new build as a reload, which then runs on the new files', async () => {
    const page = u.page;
    const cacheNames = () => page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('differnet-app-')));
    const before = await cacheNames();
    expect(before).toHaveLength(1);
    // A new deployment: another build version in sw.js (what any change of a built file gives).
    const swFile = path.join(root, 'sw.js');
    const sw = readFileSync(swFile, 'utf8');
    const old = /"version":"([0-9a-f]{16})"/.exec(sw)![1];
    writeFileSync(swFile, sw.replace(`"version":"${old}"`, '"version":"0000000000000001"'));
    await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r?.update()));
    await page.waitForSelector('[data-testid="update-banner"]', { timeout: 60_000 });
    // Until the user says so, the running page keeps the version it started with.
    expect(await cacheNames()).toEqual(expect.arrayContaining(before));
    await looked(page, 'update-banner');
    await Promise.all([page.waitForEvent('load', { timeout: 60_000 }), page.click('[data-testid="update-reload"]')]);
    await waitReady(page);
    await expect.poll(cacheNames, { timeout: 30_000 }).toEqual(['differnet-app-0000000000000001']);
    expect(await page.locator('[data-testid="update-banner"]').count()).toBe(0);
    expect(u.foreignRequests).toEqual([]);
    expect(u.problems).toEqual([]);
  });
});
