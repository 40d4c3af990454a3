// npm run bench:browser [-- --full] [--alexnet] [--no-write] [--live-only]: the built app in Debian Chromium against the CLI on the
// same machine in the same run, for the default model (SqueezeNet 1.1, 448 px, 3 scales, flow 8 x 192).
// Training on 60 MTD good images (and all 761 with --full), inspection latency (score; score + map), live
// verdicts and maps per second on the fake camera. Prints a table and writes it into BENCHMARKS.md between
// the browser-bench markers.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launch } from '../e2e/browser';
import { go, inspectSeconds, loadWeights, open, trainTimed, type TrainTimes } from '../e2e/app';
import { mtd, SQUEEZENET, tempDir } from '../e2e/data';
import { writeFakeCameraClip } from '../e2e/fakeCamera';
import { serve } from './serve';

const root = path.resolve(import.meta.dirname, '..');
const args = new Set(process.argv.slice(2));
const FULL = args.has('--full');
/** Also load a random AlexNet of torchvision's size and format (made with Debian's python3-torch). */
const ALEXNET = args.has('--alexnet');
/** Only the live rows, printed and not written: for trying the map lane's cadence (a few minutes a run). */
const LIVE_ONLY = args.has('--live-only');
const INSPECT_IMAGES = 8;
const LIVE_SECONDS = 25;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function goodImages(n: number): string[] {
  const dir = mtd('train', 'good');
  return readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, n).map((f) => path.join(dir, f));
}

function tsx(argv: string[]): string {
  return execFileSync(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), ...argv], { cwd: root, maxBuffer: 256 << 20, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

function cliTrain(images: string[], out: string): TrainTimes {
  const dir = path.join(tempDir('bench-data'), 'part');
  mkdirSync(path.join(dir, 'train', 'good'), { recursive: true });
  for (const f of images) copyFileSync(f, path.join(dir, 'train', 'good', path.basename(f)));
  const r = JSON.parse(tsx(['cli/main.ts', 'train', '--data', dir, '--weights', SQUEEZENET(), '--out', out, '--json']).trim().split('\n').pop()!);
  return { wall: r.totalSeconds, features: r.featureSeconds, flow: r.flowSeconds, calibration: r.calibrationSeconds };
}

/** The CLI engine in this process: median seconds to score, and to score and map, one image at a time. */
async function cliLatency(modelFile: string, images: string[]): Promise<{ score: number; map: number; threads: number }> {
  const { initNodeBackend } = await import('../src/core/node/backend');
  const { loadModel } = await import('../src/core/model/modelFile');
  const { readImageFile } = await import('../cli/io/decode');
  const plan = await initNodeBackend();
  const { model } = loadModel(new Uint8Array(readFileSync(modelFile)), plan.features);
  const imgs = images.map((f) => readImageFile(f));
  await model.score(imgs[0]);
  await model.defectMap(imgs[0]);
  const score: number[] = [];
  const map: number[] = [];
  for (const img of imgs) {
    let t = performance.now();
    await model.score(img);
    score.push((performance.now() - t) / 1000);
    t = performance.now();
    await model.defectMap(img);
    map.push((performance.now() - t) / 1000);
  }
  model.dispose();
  return { score: median(score), map: median(map), threads: 1 };
}

/** Verdicts and maps per second over LIVE_SECONDS on the fake camera, counted by the page's own counters. */
async function appLive(page: Page, heatmap: boolean): Promise<{ verdicts: number; maps: number; scoreMs: number; mapMs: number }> {
  const checkbox = page.locator('label:has(> input[type="checkbox"]):has-text("heatmap") > input');
  if ((await checkbox.isChecked()) !== heatmap) await checkbox.click();
  const read = () =>
    page.evaluate(() => {
      const v = document.querySelector('[data-testid="live-verdict"]')!;
      const m = document.querySelector('[data-testid="live-maps"]');
      return { frames: Number(v.getAttribute('data-frames')), scoreMs: Number(v.getAttribute('data-score-ms')), maps: Number(m?.getAttribute('data-maps') ?? 0), mapMs: Number(m?.getAttribute('data-map-ms') ?? 0), t: performance.now() };
    });
  // Let both lanes start (second engine, warm-up) before counting.
  await page.waitForFunction((hm) => Number(document.querySelector('[data-testid="live-verdict"]')?.getAttribute('data-frames')) >= 3 && (!hm || Number(document.querySelector('[data-testid="live-maps"]')?.getAttribute('data-maps')) >= 1), heatmap, { timeout: 300_000 });
  const a = await read();
  const scoreMs: number[] = [];
  const mapMs: number[] = [];
  const end = Date.now() + LIVE_SECONDS * 1000;
  while (Date.now() < end) {
    await page.waitForTimeout(500);
    const r = await read();
    scoreMs.push(r.scoreMs);
    if (heatmap) mapMs.push(r.mapMs);
  }
  const b = await read();
  const dt = (b.t - a.t) / 1000;
  return { verdicts: (b.frames - a.frames) / dt, maps: (b.maps - a.maps) / dt, scoreMs: median(scoreMs), mapMs: heatmap ? median(mapMs) : NaN };
}

/** Resident memory of every Chromium process of this profile, from /proc. */
function chromiumRss(profile: string): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(profile)) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      // The process ended between listing and reading.
    }
  }
  return total;
}

interface LoadCost {
  seconds: number;
  /** Peak resident memory above what was resident before the load. */
  extraBytes: number;
}

function makeAlexnet(file: string): void {
  execFileSync('/usr/bin/python3', [path.join(root, 'scripts/fixtures/make_alexnet_full.py'), file], { stdio: 'ignore' });
}

function cliAlexnetLoad(file: string): LoadCost {
  const r = JSON.parse(tsx(['scripts/weightsLoadProbe.ts', file]).trim());
  return { seconds: r.readSeconds + r.parseSeconds, extraBytes: r.peakRssBytes - r.rssBeforeBytes };
}

async function appAlexnetLoad(page: Page, profile: string, file: string): Promise<LoadCost> {
  await open(page, page.url().split('#')[0], 'models');
  // The baseline is the lowest of 3 s of samples: an engine that just went (the Live screen's second one)
  // keeps returning memory for a while, and a baseline taken at once sat above the load's peak.
  let before = chromiumRss(profile);
  for (let i = 0; i < 30; i++) {
    await page.waitForTimeout(100);
    before = Math.min(before, chromiumRss(profile));
  }
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, chromiumRss(profile))), 100);
  const t0 = performance.now();
  try {
    await page.setInputFiles('[data-testid="weights-drop-files"]', file);
    await page.waitForSelector('[data-testid="weights-alexnet"] .ok-text', { timeout: 600_000 });
  } finally {
    clearInterval(timer);
  }
  return { seconds: (performance.now() - t0) / 1000, extraBytes: peak - before };
}

const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');

async function main(): Promise<void> {
  if (!existsSync(path.join(root, 'dist', 'index.html')) || !args.has('--no-build')) {
    execFileSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production', VITE_CONFIG_NATIVE_IGNORE_WARNING: 'true' } });
  }
  const sixty = goodImages(60);
  if (LIVE_ONLY) return liveOnly(sixty);
  const all = goodImages(10_000);
  const test = readdirSync(mtd('test', 'good')).filter((f) => f.endsWith('.jpg')).sort().slice(0, INSPECT_IMAGES + 1).map((f) => mtd('test', 'good', f));
  const work = tempDir('bench-browser');

  console.log('CLI: training on 60 images…');
  const cli60 = cliTrain(sixty, path.join(work, 'cli60.differnet'));
  const cliAll = FULL ? (console.log(`CLI: training on ${all.length} images…`), cliTrain(all, path.join(work, 'cliall.differnet'))) : null;
  console.log('CLI: inspection latency…');
  const cliLat = await cliLatency(path.join(work, 'cli60.differnet'), test);
  const alexFile = path.join(work, 'alexnet-random-full.pth');
  let cliAlex: LoadCost | null = null;
  if (ALEXNET) {
    console.log('Writing a random AlexNet of torchvision size…');
    makeAlexnet(alexFile);
    cliAlex = cliAlexnetLoad(alexFile);
  }

  await withApp(async (page, url, userDataDir) => {
    const backend = (await page.getAttribute('[data-testid="backend-badge"]', 'title')) ?? 'unknown';
    console.log('App: training on 60 images…');
    const app60 = await trainTimed(page, url, 'bench 60', sixty);
    console.log('App: inspection latency…');
    const appMap = await inspectSeconds(page, test);
    console.log('App: live…');
    await startLive(page);
    const liveNoMap = await appLive(page, false);
    const liveMap = await appLive(page, true);
    await page.click('button:has-text("Stop camera")').catch(() => undefined);
    const appAlex = ALEXNET ? (console.log('App: loading the AlexNet file…'), await appAlexnetLoad(page, userDataDir, alexFile)) : null;
    const appAll = FULL ? (console.log(`App: training on ${all.length} images…`), await trainTimed(page, url, 'bench all', all)) : null;

    const appScore = liveNoMap.scoreMs / 1000;
    const rows: [string, string, string, string][] = [
      ['Training, 60 images (wall)', `${f1(app60.wall)} s`, `${f1(cli60.wall)} s`, f2(app60.wall / cli60.wall)],
      ['… features / flow / threshold', `${f1(app60.features)} / ${f1(app60.flow)} / ${f1(app60.calibration)} s`, `${f1(cli60.features)} / ${f1(cli60.flow)} / ${f1(cli60.calibration)} s`, ''],
      // Ratio of times, like every other row: app seconds over CLI seconds for the same images.
      ['Feature extraction, 60 images (training images per second)', f1(48 / app60.features), f1(48 / cli60.features), f2(app60.features / cli60.features)],
    ];
    if (appAll && cliAll) {
      rows.push([`Training, ${all.length} images (wall)`, `${f1(appAll.wall)} s`, `${f1(cliAll.wall)} s`, f2(appAll.wall / cliAll.wall)]);
      rows.push(['… features / flow / threshold', `${f1(appAll.features)} / ${f1(appAll.flow)} / ${f1(appAll.calibration)} s`, `${f1(cliAll.features)} / ${f1(cliAll.flow)} / ${f1(cliAll.calibration)} s`, '']);
    }
    rows.push(
      ['Inspection latency, score (engine)', `${f2(appScore)} s`, `${f2(cliLat.score)} s`, f2(appScore / cliLat.score)],
      ['Inspection latency, score + map (engine)', `${f2(appMap)} s`, `${f2(cliLat.map)} s`, f2(appMap / cliLat.map)],
      // Issue 21's target: a map at most 3x a score, each side from its own two rows above.
      ['… score + map over score', `${f2(appMap / appScore)}x`, `${f2(cliLat.map / cliLat.score)}x`, ''],
      ['Live, heatmap off: verdicts/s (x score latency)', `${f1(liveNoMap.verdicts)} (${f2(liveNoMap.verdicts * appScore)})`, '', ''],
      ['Live, heatmap on: verdicts/s (x score latency) · maps/s', `${f1(liveMap.verdicts)} (${f2(liveMap.verdicts * appScore)}) · ${f2(liveMap.maps)}`, '', ''],
    );
    if (appAlex && cliAlex) {
      const size = mb(readFileSync(alexFile).length);
      rows.push([`Loading a random AlexNet file of torchvision's size (${size}, legacy format)`, `${f1(appAlex.seconds)} s, peak +${mb(appAlex.extraBytes)}`, `${f2(cliAlex.seconds)} s, peak +${mb(cliAlex.extraBytes)}`, f2(appAlex.seconds / cliAlex.seconds)]);
    }
    const date = new Date().toISOString().slice(0, 10);
    const table = [
      `<!-- browser-bench:start -->`,
      `\`npm run bench:browser${[FULL && '--full', ALEXNET && '--alexnet'].some(Boolean) ? ` -- ${[FULL && '--full', ALEXNET && '--alexnet'].filter(Boolean).join(' ')}` : ''}\`, ${date}, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), Debian Chromium headless, app backend "${backend}"; CLI: WASM, ${os.availableParallelism()} worker threads for features, flow on all cores, latency in-process on 1 thread. Ratio = app / CLI (target at most 1.3). The live rows' bracket is verdicts/s times the app's score latency (target at least 0.8).`,
      '',
      '| measure | app (Chromium) | CLI (Node) | ratio |',
      '| --- | --- | --- | --- |',
      ...rows.map((r) => `| ${r.join(' | ')} |`),
      `<!-- browser-bench:end -->`,
    ].join('\n');
    console.log('\n' + table);
    if (!args.has('--no-write')) {
      const file = path.join(root, 'BENCHMARKS.md');
      const md = readFileSync(file, 'utf8');
      const re = /<!-- browser-bench:start -->[\s\S]*?<!-- browser-bench:end -->/;
      writeFileSync(file, re.test(md) ? md.replace(re, table) : `${md.trimEnd()}\n\n## Browser against CLI (written by \`npm run bench:browser\`)\n\n${table}\n`);
      console.log('wrote BENCHMARKS.md');
    }
  });
}

/** The built app in Chromium on the fake camera, SqueezeNet loaded, on the Models screen. */
async function withApp(fn: (page: Page, url: string, userDataDir: string) => Promise<void>): Promise<void> {
  const server = await serve({ root: path.join(root, 'dist') });
  const clip = writeFakeCameraClip(mtd('train', 'good', 'exp1_num_10181.jpg'), mtd('test', 'fray', 'exp1_num_136254.jpg'));
  const s = await launch(server.url, { args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${clip}`] });
  try {
    await open(s.page, server.url, 'models');
    await loadWeights(s.page, SQUEEZENET());
    await fn(s.page, server.url, s.userDataDir);
  } finally {
    await s.close();
    await server.close();
  }
}

async function startLive(page: Page): Promise<void> {
  await go(page, 'live');
  await page.click('button:has-text("Start camera")');
  await page.waitForFunction(() => (document.querySelector('.stage video') as HTMLVideoElement | null)?.videoWidth === 640, undefined, { timeout: 60_000 });
}

async function liveOnly(images: string[]): Promise<void> {
  await withApp(async (page, url) => {
    await trainTimed(page, url, 'bench live', images);
    await startLive(page);
    const off = await appLive(page, false);
    const on = await appLive(page, true);
    const score = off.scoreMs / 1000;
    console.log(`live, heatmap off: ${f1(off.verdicts)} verdicts/s (x score latency ${f2(off.verdicts * score)}); heatmap on: ${f1(on.verdicts)} verdicts/s (${f2(on.verdicts * score)}), ${f2(on.maps)} maps/s, map ${f2(on.mapMs / 1000)} s`);
  });
}

await main();
