import { readFileSync } from 'node:fs';
import {
  auroc,
  bankCopies,
  bankCopySpecs,
  calibrate,
  DifferNet,
  f1MaxThreshold,
  pixelAuroc,
  rocCurve,
  scoreFeatureRows,
  scoreStats,
  type Backbone,
  type FeatureBank,
  type ModelSettings,
} from '../src/core';
import { concatRows, featureRowsOf } from './featureRows';
import { loadMask, type LabelledImage, type MvtecDataset } from './io/mvtec';
import { decodeImage } from './io/decode';
import { mapLimit } from './parallel';
import type { EnginePool } from './pool/pool';
import { formatSeconds, ProgressBar } from './progressBar';

/** Features of every training image's random copies, computed once and reused for all epochs. */
export async function trainingBank(pool: EnginePool, train: string[], settings: ModelSettings, dim: number, quiet: boolean): Promise<FeatureBank> {
  const copies = bankCopies(settings);
  const specs = bankCopySpecs(train.length, copies, settings.train.seed, settings.train);
  const rows = await featureRowsOf(pool, train, (i) => specs[i], 'features', quiet);
  return { dim, count: train.length, copies, data: concatRows(rows) };
}

export async function trainOnBank(backbone: Backbone, bank: FeatureBank, settings: ModelSettings, backend: string, featureSeconds: number, quiet: boolean): Promise<DifferNet> {
  const t = settings.train;
  const steps = Math.ceil(bank.count / t.batchSize) * t.epochs * t.subEpochs;
  const bar = new ProgressBar('flow', steps, 'step', quiet);
  const model = await DifferNet.trainOnBank(
    backbone,
    bank,
    settings,
    { backend, onProgress: (e) => e.phase === 'flow' && bar.update(e.progress.step, `loss ${e.progress.loss.toFixed(3)}`) },
    featureSeconds,
  );
  bar.done();
  return model;
}

/**
 * Threshold at the 99th percentile of the training images' scores over their bank copies (cheap: flow only),
 * and the heatmap scale from defect maps of a few training images.
 */
export async function calibrateOnTraining(model: DifferNet, bank: FeatureBank, train: string[], quiet: boolean): Promise<void> {
  const goodScores = await scoreFeatureRows(model.flow, bank.data, bank.dim, bank.copies);
  const sample = train.filter((_, i) => i % Math.max(1, Math.floor(train.length / 3)) === 0).slice(0, 3);
  const bar = new ProgressBar('calibrate', sample.length, 'img', quiet);
  const goodMaps: Float32Array[] = [];
  for (const p of sample) {
    const img = decodeImage(new Uint8Array(readFileSync(p)), p);
    goodMaps.push((await model.defectMap(img, { transforms: 4 })).map);
    bar.update(goodMaps.length);
  }
  bar.done();
  model.calibration = calibrate({ goodScores, goodMaps }, { kind: 'percentile', percentile: 99 });
}

export interface ScoredSet {
  images: LabelledImage[];
  scores: Float32Array;
  transforms: number;
  seconds: number;
}

/** Feature rows of test images at the given rotations (see scoreAngles): the expensive part, cached by the benchmark. */
export async function testRows(pool: EnginePool, test: LabelledImage[], angles: number[], quiet: boolean): Promise<Float32Array[]> {
  const specs = angles.map((angle) => ({ angle }));
  return featureRowsOf(pool, test.map((t) => t.path), () => specs, `score T=${angles.length}`, quiet);
}

export async function scoreRows(model: DifferNet, rows: Float32Array[], transforms: number): Promise<Float32Array> {
  return scoreFeatureRows(model.flow, concatRows(rows), model.flow.config.inputDim, transforms);
}

export interface ImageMetrics {
  imageAuroc: number;
  perDefect: Record<string, { n: number; auroc: number }>;
  f1Max: { threshold: number; f1: number; precision: number; recall: number };
  atModelThreshold: { threshold: number; tp: number; fp: number; tn: number; fn: number } | null;
  good: ReturnType<typeof scoreStats>;
  defective: ReturnType<typeof scoreStats>;
  roc: { fpr: number[]; tpr: number[] };
}

export function imageMetrics(test: LabelledImage[], scores: Float32Array, threshold: number | null): ImageMetrics {
  const labels = test.map((t) => t.label);
  const perDefect: ImageMetrics['perDefect'] = {};
  for (const d of [...new Set(test.filter((t) => t.label === 1).map((t) => t.defect))].sort()) {
    const idx = test.map((t, i) => (t.label === 0 || t.defect === d ? i : -1)).filter((i) => i >= 0);
    perDefect[d] = { n: idx.filter((i) => test[i].label === 1).length, auroc: auroc(idx.map((i) => scores[i]), idx.map((i) => labels[i])) };
  }
  let atModelThreshold: ImageMetrics['atModelThreshold'] = null;
  if (threshold !== null) {
    const c = { threshold, tp: 0, fp: 0, tn: 0, fn: 0 };
    scores.forEach((s, i) => {
      const predicted = s >= threshold;
      if (labels[i] === 1) c[predicted ? 'tp' : 'fn']++;
      else c[predicted ? 'fp' : 'tn']++;
    });
    atModelThreshold = c;
  }
  const roc = rocCurve(scores, labels);
  return {
    imageAuroc: auroc(scores, labels),
    perDefect,
    f1Max: f1MaxThreshold(scores, labels),
    atModelThreshold,
    good: scoreStats(Array.from(scores).filter((_, i) => labels[i] === 0)),
    defective: scoreStats(Array.from(scores).filter((_, i) => labels[i] === 1)),
    roc: { fpr: roc.fpr, tpr: roc.tpr },
  };
}

export interface PixelReport {
  pixelAuroc: number;
  images: number;
  transforms: number;
  seconds: number;
}

/** Pixel AUROC over good images (all-zero masks) and defective ones with masks; defect maps via the pool. */
export async function pixelMetrics(pool: EnginePool, test: LabelledImage[], transforms: number, limit: number, quiet: boolean): Promise<PixelReport | null> {
  const withMask = test.filter((t) => t.label === 0 || t.maskPath);
  if (!withMask.some((t) => t.maskPath)) return null;
  const chosen = evenlySpaced(withMask, limit);
  const bar = new ProgressBar(`defect maps T=${transforms}`, chosen.length, 'img', quiet);
  const t0 = Date.now();
  let done = 0;
  const results = await mapLimit(chosen, pool.size, async (t) => {
    const r = await pool.run({ kind: 'map', imagePath: t.path, transforms });
    if (!r.ok || r.kind !== 'map') throw new Error(`${t.path}: ${r.ok ? 'unexpected result' : r.error}`);
    const mask = t.maskPath ? loadMask(t.maskPath, r.width, r.height) : new Uint8Array(r.width * r.height);
    bar.update(++done);
    return { map: r.map, mask };
  });
  bar.done(formatSeconds((Date.now() - t0) / 1000));
  return {
    pixelAuroc: pixelAuroc(results.map((r) => r.map), results.map((r) => r.mask)),
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
