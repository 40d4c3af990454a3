import { readFileSync } from 'node:fs';
import {
  type ExecutionPlan,
  bankCopies,
  bankCopySpecs,
  concatRows,
  evaluationReport,
  fullColourShare,
  pixelAurocOrNull,
  pixelTruth,
  scoreStats,
  scoreFeatureRows,
  throwIfAborted,
  trainInspectionModel,
  type Backbone,
  type DifferNet,
  type EvaluationReport,
  type FeatureBank,
  type FeatureWork,
  type MapOrder,
  type ModelSettings,
} from '../src/core/internal';
import { featureRowsOf } from './featureRows';
import { loadMask, type LabelledImage, type MvtecDataset } from './io/mvtec';
import { decodeForInspection } from './io/decode';
import { mapLimit } from './parallel';
import type { EnginePool } from './pool/pool';
import { formatSeconds, ProgressBar } from './progressBar';

/** The CLI's FeatureWork: feature rows across the worker threads, the few calibration maps in this thread. */
export function poolFeatureWork(pool: EnginePool, paths: string[], quiet: boolean): FeatureWork {
  let pass = 0;
  return {
    async rows(indices, specsFor) {
      const label = pass++ === 0 ? 'features' : 'calibrate';
      return concatRows(await featureRowsOf(pool, indices.map((i) => paths[i]), specsFor, label, quiet));
    },
    // Rows on the workers while this thread computes the maps.
    rowsOffThread: true,
    async maps(model, indices, signal) {
      // No bar of their own: they run beside the held-out rows' bar, which would share its terminal line.
      const started = Date.now();
      const out: Float32Array[] = [];
      for (const i of indices) {
        throwIfAborted(signal, 'calibration');
        out.push((await model.defectMap(decodeForInspection(new Uint8Array(readFileSync(paths[i])), paths[i]))).map);
      }
      // On a terminal the rows' bar may be mid-line: clear it, and it redraws below on its next update.
      const clear = process.stderr.isTTY ? '\r\x1b[K' : '';
      if (!quiet) process.stderr.write(`${clear}calibration maps: ${out.length} in ${formatSeconds((Date.now() - started) / 1000)}\n`);
      return out;
    },
  };
}

/** Training as the app trains: held-out good images set the threshold (src/core/train/pipeline.ts). */
export async function trainCalibrated(
  pool: EnginePool,
  backbone: Backbone,
  train: string[],
  settings: ModelSettings,
  opts: { plan: ExecutionPlan; quiet: boolean; falseAlarmRate?: number },
): Promise<DifferNet> {
  let bar: ProgressBar | null = null;
  const model = await trainInspectionModel(backbone, train.length, settings, poolFeatureWork(pool, train, opts.quiet), {
    plan: opts.plan,
    falseAlarmRate: opts.falseAlarmRate,
    onProgress: (e) => {
      if (e.phase !== 'flow') return;
      bar ??= new ProgressBar('flow', e.progress.totalSteps, 'step', opts.quiet);
      bar.update(e.progress.step, `loss ${e.progress.loss.toFixed(3)}`);
      if (e.progress.step === e.progress.totalSteps) bar.done();
    },
  });
  return model;
}

/** Features of every training image's random copies, computed once and reused for all epochs (the benchmark's studies). */
export async function trainingBank(pool: EnginePool, train: string[], settings: ModelSettings, dim: number, quiet: boolean): Promise<FeatureBank> {
  const copies = bankCopies(settings);
  const specs = bankCopySpecs(train.length, copies, settings.train.seed, settings.train);
  const rows = await featureRowsOf(pool, train, (i) => specs[i], 'features', quiet);
  return { dim, count: train.length, copies, data: concatRows(rows) };
}

/** Feature rows of test images at the given rotations (see scoreAngles): the expensive part, cached by the benchmark. */
export async function testRows(pool: EnginePool, test: LabelledImage[], angles: number[], quiet: boolean): Promise<Float32Array[]> {
  const specs = angles.map((angle) => ({ angle }));
  return featureRowsOf(pool, test.map((t) => t.path), () => specs, `score T=${angles.length}`, quiet);
}

export async function scoreRows(model: DifferNet, rows: Float32Array[], transforms: number): Promise<Float32Array> {
  return scoreFeatureRows(model.flow, concatRows(rows), model.flow.config.inputDim, transforms);
}

/** The core's evaluation report over an MVTec test set. */
export function imageMetrics(test: LabelledImage[], scores: Float32Array, threshold: number | null): EvaluationReport {
  return evaluationReport(
    test.map((t, i) => ({ score: scores[i], label: t.label, defect: t.defect })),
    threshold,
  );
}

export interface PixelReport {
  pixelAuroc: number;
  images: number;
  transforms: number;
  seconds: number;
  /** Median share of each image's pixels at full colour (position >= 0.95) on the model's heat scale, for good and defective images; null without a calibration. */
  fullColour: { good: number; defective: number } | null;
}

function median(xs: number[]): number {
  return xs.length ? scoreStats(xs).median : NaN;
}

/** Pixel AUROC over good images (all-zero masks) and defective ones with masks; defect maps via the pool. */
export async function pixelMetrics(pool: EnginePool, test: LabelledImage[], transforms: number, limit: number, quiet: boolean, scale?: { mapLow: number; mapHigh: number } | null, mapOrder?: MapOrder): Promise<PixelReport | null> {
  const truth = (t: LabelledImage) => pixelTruth({ label: t.label, hasMask: !!t.maskPath });
  const counted = test.filter((t) => truth(t) !== null);
  if (!counted.some((t) => t.maskPath)) return null;
  const chosen = evenlySpaced(counted, limit);
  const bar = new ProgressBar(`defect maps T=${transforms}${mapOrder ? ` (${mapOrder})` : ''}`, chosen.length, 'img', quiet);
  const t0 = Date.now();
  let done = 0;
  const results = await mapLimit(chosen, pool.size, async (t) => {
    const r = await pool.run({ kind: 'map', imagePath: t.path, transforms, mapOrder });
    if (!r.ok || r.kind !== 'map') throw new Error(`${t.path}: ${r.ok ? 'unexpected result' : r.error}`);
    const mask = truth(t) === 'mask' ? loadMask(t.maskPath!, r.width, r.height) : new Uint8Array(r.width * r.height);
    bar.update(++done);
    const share = scale ? fullColourShare(r.map, { low: scale.mapLow, high: scale.mapHigh }) : NaN;
    return { map: r.map, mask, label: t.label, share };
  });
  bar.done(formatSeconds((Date.now() - t0) / 1000));
  const shareOf = (label: 0 | 1) => median(results.filter((r) => r.label === label).map((r) => r.share));
  const auroc = pixelAurocOrNull(results.map((r) => r.map), results.map((r) => r.mask));
  if (auroc === null) return null;
  return {
    fullColour: scale ? { good: shareOf(0), defective: shareOf(1) } : null,
    pixelAuroc: auroc,
    images: chosen.length,
    transforms,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** Up to `limit` items spread over the list (keeps every defect type represented in a subset). */
export function evenlySpaced<T>(items: T[], limit: number): T[] {
  if (items.length <= limit) return items;
  return Array.from({ length: limit }, (_, i) => items[Math.floor((i * items.length) / limit)]);
}

export function describeDataset(ds: MvtecDataset): string {
  const good = ds.test.filter((t) => t.label === 0).length;
  return `${ds.train.length} train, ${good} good + ${ds.test.length - good} defective test (${ds.defectTypes.join(', ') || 'no defect types'})`;
}
