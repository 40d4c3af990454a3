// npm run measure:webgpu [-- --images 16] [--inspect 6] [--backends webgpu,wasm] [--no-build] [--chromium-arg FLAG ...]
// The WebGPU path of the built app in Chromium, on whatever GPU the machine has, against WASM in the same
// run: a SqueezeNet model with the default settings trained on MTD good images (feature extraction, flow
// training, calibration), inspection of MTD test images (score and defect map per image), and the Models
// screen's backend check (features and score, then a defect map, on a small input, with their differences
// from WASM). Each backend runs in a fresh browser profile, chosen from the header as a user would. Prints one
// table. Without a GPU (this project's 2-core machine) Chromium offers only SwiftShader, a CPU emulation of a
// GPU: the script says so, and its WebGPU numbers then say nothing about a real GPU.
// Linux GPU machines may need Vulkan: --chromium-arg=--use-angle=vulkan --chromium-arg=--enable-features=Vulkan.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { serve } from './serve';
import { launch } from '../e2e/browser';
import { go, inspectSeconds, loadWeights, open, trainTimed } from '../e2e/app';
import { mtd, SQUEEZENET } from '../e2e/data';

const root = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '16' },
    inspect: { type: 'string', default: '6' },
    backends: { type: 'string', default: 'webgpu,wasm' },
    'no-build': { type: 'boolean' },
    'chromium-arg': { type: 'string', multiple: true, default: [] },
  },
});
const TRAIN_IMAGES = Number(values.images);
const INSPECT_IMAGES = Number(values.inspect);
const BACKENDS = values.backends.split(',');

interface Adapter {
  description: string;
  software: boolean;
}

interface Row {
  backend: string;
  /** Why this backend could not be measured, or null. */
  unavailable: string | null;
  adapter: string;
  featureSeconds: number;
  flowSeconds: number;
  calibrationSeconds: number;
  /** Median engine seconds per inspected image (score and defect map), the first (warm-up) left out. */
  inspectSeconds: number;
  /** The backend check against WASM: seconds of features and score, of the map, and the differences. */
  check: { seconds: number; mapSeconds: number; featureRelDiff: number; scoreRelDiff: number; mapRelDiff: number } | null;
}

const firstImages = (dir: string, n: number) => readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, n).map((f) => path.join(dir, f));

async function adapterOf(page: Page): Promise<Adapter | null> {
  return page.evaluate(async () => {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    const a = gpu ? await gpu.requestAdapter() : null;
    if (!a) return null;
    const description = [a.info.vendor, a.info.architecture, a.info.device, a.info.description].filter(Boolean).join(' ');
    // isFallbackAdapter: Chromium's name for SwiftShader (older versions leave it out; the name says it too).
    const fallback = (a.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
    return { description, software: fallback || /swiftshader/i.test(description) };
  });
}

async function useBackend(page: Page, backend: string): Promise<string | null> {
  await page.selectOption('[data-testid="backend-choice"]', backend);
  try {
    await page.waitForFunction((b) => document.querySelector('[data-testid="backend-badge"]')?.getAttribute('data-backend') === b, backend, { timeout: 120_000 });
    return null;
  } catch {
    return `the app did not switch to ${backend}: ${(await page.textContent('[data-testid="backend-badge"]'))?.trim()}`;
  }
}

/** The Models screen's check of `backend` against WASM on the trained model. */
async function check(page: Page, backend: string): Promise<Row['check']> {
  if (backend === 'wasm') return null;
  await go(page, 'models');
  await page.selectOption('select[aria-label="First backend"]', backend);
  await page.selectOption('select[aria-label="Second backend"]', 'wasm');
  await page.click('[data-testid="backend-check-run"]');
  const result = page.locator('[data-testid="backend-check-result"]');
  await result.waitFor({ timeout: 1_800_000 });
  const num = async (a: string) => Number(await result.getAttribute(a));
  // The first row is `backend`'s: backend, adapter, score, features and score, the map ("1.23 s").
  const cells = await result.locator('tbody tr').first().locator('td').allTextContents();
  const seconds = (t: string) => Number.parseFloat(t);
  return { seconds: seconds(cells[3]), mapSeconds: seconds(cells[4]), featureRelDiff: await num('data-feature-rel-diff'), scoreRelDiff: await num('data-score-rel-diff'), mapRelDiff: await num('data-map-rel-diff') };
}

async function measure(url: string, backend: string): Promise<Row> {
  const gpu = backend === 'webgpu';
  const s = await launch(url, { gpu, args: gpu ? ['--enable-unsafe-webgpu', ...values['chromium-arg']] : [] });
  const row: Row = { backend, unavailable: null, adapter: '', featureSeconds: NaN, flowSeconds: NaN, calibrationSeconds: NaN, inspectSeconds: NaN, check: null };
  try {
    await open(s.page, url, 'models');
    if (gpu) {
      const a = await adapterOf(s.page);
      if (!a) return { ...row, unavailable: 'Chromium offers no WebGPU adapter here' };
      row.adapter = `${a.description}${a.software ? ' (software: SwiftShader, a CPU emulation of a GPU)' : ''}`;
    } else row.adapter = 'WebAssembly SIMD on the CPU';
    await loadWeights(s.page, SQUEEZENET());
    const why = await useBackend(s.page, backend);
    if (why) return { ...row, unavailable: why };
    console.error(`${backend}: training on ${TRAIN_IMAGES} images…`);
    const t = await trainTimed(s.page, url, `measure ${backend}`, firstImages(mtd('train', 'good'), TRAIN_IMAGES));
    Object.assign(row, { featureSeconds: t.features, flowSeconds: t.flow, calibrationSeconds: t.calibration });
    console.error(`${backend}: inspecting ${INSPECT_IMAGES} images…`);
    const test = [...firstImages(mtd('test', 'good'), Math.ceil(INSPECT_IMAGES / 2)), ...firstImages(mtd('test', 'fray'), Math.floor(INSPECT_IMAGES / 2))];
    row.inspectSeconds = await inspectSeconds(s.page, test, 3_600_000);
    console.error(`${backend}: backend check…`);
    row.check = await check(s.page, backend);
    return row;
  } finally {
    await s.close();
  }
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : '—');

async function main(): Promise<void> {
  if (!values['no-build'] || !existsSync(path.join(root, 'dist', 'index.html'))) {
    execFileSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  }
  const server = await serve({ root: path.join(root, 'dist') });
  const rows: Row[] = [];
  try {
    for (const b of BACKENDS) {
      try {
        rows.push(await measure(server.url, b));
      } catch (e) {
        // One backend's failure is a result too; the others are still measured.
        rows.push({ backend: b, unavailable: (e as Error).message, adapter: '', featureSeconds: NaN, flowSeconds: NaN, calibrationSeconds: NaN, inspectSeconds: NaN, check: null });
      }
    }
  } finally {
    await server.close();
  }
  const [a, b] = rows;
  const line = (name: string, get: (r: Row) => number) => `| ${name} | ${rows.map((r) => (r.unavailable ? 'n/a' : f2(get(r)))).join(' | ')} |${b ? ` ${ratio(get(a), get(b))} |` : ''}`;
  const version = execFileSync(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  console.log(`${version}, ${new Date().toISOString().slice(0, 10)}`);
  for (const r of rows) console.log(`${r.backend}: ${r.unavailable ?? r.adapter}`);
  console.log(`SqueezeNet 1.1, default settings (448 px, 3 scales, flow 8 x 192), ${TRAIN_IMAGES} MTD good training images, ${INSPECT_IMAGES} test images; seconds.\n`);
  console.log(`| measure | ${rows.map((r) => r.backend).join(' | ')} |${b ? ` ${a.backend} / ${b.backend} |` : ''}`);
  console.log(`| --- | ${rows.map(() => '---').join(' | ')} |${b ? ' --- |' : ''}`);
  console.log(line(`training: features of ${TRAIN_IMAGES} images`, (r) => r.featureSeconds));
  console.log(line('training: flow (all its steps)', (r) => r.flowSeconds));
  console.log(line('training: calibration (held-out scores and maps)', (r) => r.calibrationSeconds));
  console.log(line('inspection of one image, score and defect map (median)', (r) => r.inspectSeconds));
  const c = rows.find((r) => r.check)?.check;
  if (c) {
    console.log(`\nBackend check of ${rows.find((r) => r.check)!.backend} against wasm (the model's scales from 64 px up): features and score ${f2(c.seconds)} s, defect map ${f2(c.mapSeconds)} s; differences from wasm: features ${c.featureRelDiff.toExponential(1)}, score ${c.scoreRelDiff.toExponential(1)}, map ${c.mapRelDiff.toExponential(1)} (of the largest value).`);
  }
  if (rows.some((r) => r.adapter.includes('SwiftShader'))) console.log('\nNo GPU here: WebGPU ran on SwiftShader, so its times measure a CPU emulation, not a GPU.');
}

await main();
