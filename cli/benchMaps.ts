import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_SETTINGS, DifferNet, featureDim, forBackbone, TFJS_ENGINE, WasmFeatureEngine, type BackboneId, type ModelSettings } from '../src/core/internal';
import { Flow } from '../src/core/flow/flow';
import type { RgbaImage } from '../src/core/image';
import { sharedPath } from '../src/core/node/shared';
import { decodeForInspection } from './io/decode';
import { loadBackboneFile } from './weights';

/*
 * Seconds per defect map against seconds per score, per backbone, in one process on this thread (the CLI's
 * pool runs one image per worker thread): the WebAssembly engine's map (the plan's choice on TF.js's CPU
 * backends), the TF.js engine's map (its choice on GPUs, and with DIFFERNET_HOST_BACKBONE=0), and the score, on the same images, each backbone at its default
 * features with a random flow of the default size (speed does not depend on the weights).
 */

/** Median seconds per call: wall clock, and this process's CPU time (less moved by other users of the machine). */
export interface Timing {
  wall: number;
  cpu: number;
}

export interface MapSpeedRow {
  label: string;
  transforms: number;
  images: number;
  score: Timing;
  hostMap: Timing;
  tfMap: Timing;
  /** The host kernels' memory once a map was made (weights, activations of every scale, gradients). */
  hostBytes: number;
}

const ARMS: { id: BackboneId; file: string[]; label: string }[] = [
  { id: 'googlenet', file: ['weights', 'bvlc_googlenet.caffemodel'], label: 'GoogLeNet, 4 taps, 224 px' },
  { id: 'squeezenet1_1', file: ['weights', 'squeezenet1_1-imagenet.pth'], label: 'SqueezeNet 1.1, 448 + 224 + 112 px' },
  { id: 'alexnet', file: ['reference', 'alexnet-features-random.legacy.pth'], label: 'AlexNet (random weights), 448 + 224 + 112 px' },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(n: number, f: (i: number) => Promise<unknown>): Promise<Timing> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < n; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await f(i);
    wall.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

/** `images` test images of MTD (decoded once), each measured for score, host map and TF.js map; median seconds. */
export async function mapSpeed(dataDir: string, images = 5, transforms = [1]): Promise<MapSpeedRow[]> {
  const dir = path.join(dataDir, 'test');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort()
    .filter((_, i, all) => i % Math.max(1, Math.floor(all.length / images)) === 0)
    .slice(0, images);
  const imgs: RgbaImage[] = files.map((f) => decodeForInspection(new Uint8Array(readFileSync(path.join(dir, f))), f));
  const rows: MapSpeedRow[] = [];
  for (const arm of ARMS) {
    const backbone = loadBackboneFile(sharedPath(...arm.file), arm.id);
    const settings: ModelSettings = forBackbone(structuredClone(DEFAULT_SETTINGS), arm.id);
    const flow = Flow.random({ inputDim: featureDim(backbone, settings.features), ...settings.flow }, 1);
    // The same backbone and flow under each engine, side by side: the comparison is this benchmark's point.
    const wasm = new WasmFeatureEngine({ helpers: 0 });
    const model = new DifferNet(wasm, backbone, flow, settings);
    const onTf = new DifferNet(TFJS_ENGINE, backbone, flow, settings);
    for (const t of transforms) {
      const opts = { transforms: t, rotate: t > 1 };
      // Warm-up: compiles the kernels and lays out the tape.
      await model.defectMap(imgs[0], opts);
      await model.score(imgs[0], opts);
      const score = await timed(imgs.length, (i) => model.score(imgs[i], opts));
      const hostMap = await timed(imgs.length, (i) => model.defectMap(imgs[i], opts));
      const hostBytes = wasm.bytesFor(backbone) || NaN;
      await onTf.defectMap(imgs[0], opts);
      const tfMap = await timed(imgs.length, (i) => onTf.defectMap(imgs[i], opts));
      rows.push({ label: arm.label, transforms: t, images: imgs.length, score, hostMap, tfMap, hostBytes });
      console.log(`${arm.label}, T=${t}: score ${score.wall.toFixed(3)} s (CPU ${score.cpu.toFixed(3)}), map ${hostMap.wall.toFixed(3)} s on the host (${(hostMap.wall / score.wall).toFixed(2)}x; CPU ${(hostMap.cpu / score.cpu).toFixed(2)}x), ${tfMap.wall.toFixed(3)} s on TF.js (${(tfMap.wall / score.wall).toFixed(2)}x; CPU ${(tfMap.cpu / score.cpu).toFixed(2)}x)`);
    }
    model.dispose();
  }
  return rows;
}

const MARK = /<!-- map-speed:start -->[\s\S]*?<!-- map-speed:end -->/;

/** The section's table, between its markers. */
export function mapSpeedSection(rows: MapSpeedRow[], how: string): string {
  const r2 = (a: number, b: number) => (a / b).toFixed(2);
  const f = (t: Timing) => `${t.wall.toFixed(3)} s (CPU ${t.cpu.toFixed(3)})`;
  const mb = (b: number) => (Number.isFinite(b) ? `${(b / 2 ** 20).toFixed(0)} MB` : 'n/a');
  return [
    '<!-- map-speed:start -->',
    how,
    '',
    '| backbone, features | T | score | defect map, host kernels | ratio (wall; CPU) | defect map, TF.js | ratio (wall; CPU) | host kernels\' memory with the tape |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.label} | ${r.transforms} | ${f(r.score)} | ${f(r.hostMap)} | **${r2(r.hostMap.wall, r.score.wall)}**; ${r2(r.hostMap.cpu, r.score.cpu)} | ${f(r.tfMap)} | ${r2(r.tfMap.wall, r.score.wall)}; ${r2(r.tfMap.cpu, r.score.cpu)} | ${mb(r.hostBytes)} |`),
    '<!-- map-speed:end -->',
  ].join('\n');
}

/** BENCHMARKS.md with the section replaced, or added before the browser's section. */
export function withMapSpeed(md: string, section: string): string {
  if (MARK.test(md)) return md.replace(MARK, section);
  const heading = '## Defect maps against scores (written by `npm run bench -- --maps`, issue 21)\n\n' + section + '\n\n';
  const at = md.indexOf('## Browser against CLI');
  return at < 0 ? md.trimEnd() + '\n\n' + heading : md.slice(0, at) + heading + md.slice(at);
}
