// The same model file and image give the same score, threshold and verdict in the app (browser, WASM in
// Chromium) and in the CLI (Node, WASM): both run src/core's one pipeline on the same pixels.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { decodeImage, encodePng } from '../cli/io/decode';
import { go, open } from './app';
import { launch, type Session } from './browser';
import { mtd, SQUEEZENET, tempDir } from './data';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const baseUrl = inject('baseUrl');

/**
 * Float32 on two WASM builds (threads, SIMD paths, summation order) agree to about 1e-6 relative; 1e-4
 * catches any difference in policy (resize, transforms, calibration) while allowing that.
 */
const REL_TOLERANCE = 1e-4;

interface CliResult {
  image: string;
  score: number;
  rawScore: number;
  verdict: string;
}

describe('app and CLI agree', () => {
  let s: Session;
  let model: string;
  let images: string[];
  let cli: { threshold: number; rawThreshold: number; results: CliResult[] };

  beforeAll(async () => {
    const dir = tempDir('parity');
    for (const split of ['train/good', 'test/good']) mkdirSync(path.join(dir, split), { recursive: true });
    for (const f of readdirSync(mtd('train', 'good')).sort().slice(0, 10)) copyFileSync(mtd('train', 'good', f), path.join(dir, 'train', 'good', f));
    // PNG, so both sides decode the very same pixels (JPEG decoders may differ in the last bit).
    images = ['test/good', 'test/blowhole', 'test/break'].map((folder) => {
      const f = readdirSync(mtd(...folder.split('/'))).sort()[0];
      const out = path.join(dir, `${folder.split('/')[1]}-${f.replace(/\.jpg$/, '.png')}`);
      writeFileSync(out, encodePng(decodeImage(new Uint8Array(readFileSync(mtd(...folder.split('/'), f))), f)));
      return out;
    });
    model = path.join(dir, 'parity.differnet');
    const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
    const small = ['--size', '224', '--width', '64', '--blocks', '4', '--epochs', '1', '--sub-epochs', '4', '--batch', '4', '--false-alarms', '40'];
    await run(tsx, ['cli/main.ts', 'train', '--data', dir, '--weights', SQUEEZENET(), '--out', model, '--threads', '1', '--json', ...small], { cwd: root, maxBuffer: 64 << 20 });
    const { stdout } = await run(tsx, ['cli/main.ts', 'inspect', '--model', model, '--out-dir', path.join(dir, 'overlays'), '--threads', '1', '--json', ...images], { cwd: root, maxBuffer: 64 << 20 });
    cli = JSON.parse(stdout);
    s = await launch(baseUrl.replace(/\/$/, ''));
  }, 600_000);
  afterAll(async () => {
    await s?.close();
  });

  it('scores, thresholds and judges each image alike', async () => {
    const page = s.page;
    await open(page, baseUrl, 'models');
    await page.setInputFiles('[data-testid="model-import-files"]', model);
    await page.locator('[data-testid="model-row"]').first().waitFor();
    await go(page, 'inspect');
    await page.setInputFiles('[data-testid="inspect-drop-files"]', images);
    const rows = page.locator('[data-testid="results-table"] tbody tr[data-verdict="OK"], [data-testid="results-table"] tbody tr[data-verdict="DEFECT"]');
    await expect.poll(() => rows.count(), { timeout: 300_000 }).toBe(images.length);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid="export-json"]')]);
    const app = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { results: { file: string; score: number; rawScore: number; verdict: string; threshold: number; rawThreshold: number }[] };
    const table: string[] = [];
    for (const c of cli.results) {
      const a = app.results.find((r) => r.file === path.basename(c.image))!;
      table.push(`${path.basename(c.image)}: CLI ${c.rawScore} ${c.verdict}, app ${a.rawScore} ${a.verdict}`);
      expect(Math.abs(a.rawScore - c.rawScore) / c.rawScore, path.basename(c.image)).toBeLessThan(REL_TOLERANCE);
      expect(a.verdict).toBe(c.verdict);
      expect(Math.abs(a.score - c.score)).toBeLessThan(1e-4);
      // The app exports six significant digits of the same threshold, on both scales.
      expect(Math.abs(a.rawThreshold - cli.rawThreshold) / cli.rawThreshold).toBeLessThan(1e-5);
      expect([a.threshold, cli.threshold]).toEqual([0.5, 0.5]);
    }
    console.log('app vs CLI', table);
  });
});
