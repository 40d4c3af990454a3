import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SETTINGS, featureDim, flowParamCount, loadModel, saveModel, scoreAngles, scoreFeatureRows, type DifferNet, type FeatureBank, type ModelSettings } from '../src/core';
import { initNodeBackend } from '../src/core/nodeBackend';
import { sharedPath } from '../src/core/testing/shared';
import { concatRows } from './featureRows';
import { readMvtecFolder } from './io/mvtec';
import { intFlag } from './options';
import { calibrateOnTraining, imageMetrics, pixelMetrics, testRows, trainingBank, trainOnBank } from './pipeline';
import { defaultThreads, EnginePool } from './pool/pool';
import { formatSeconds } from './progressBar';
import { loadBackboneFile } from './weights';

/** Peak resident memory of the process, sampled (worker threads share it). */
class PeakMemory {
  peak = process.memoryUsage().rss;
  private readonly timer = setInterval(() => (this.peak = Math.max(this.peak, process.memoryUsage().rss)), 250);
  stop(): number {
    clearInterval(this.timer);
    return Math.max(this.peak, process.memoryUsage().rss);
  }
}

interface StudyRow {
  width: number;
  parameters: number;
  modelMB: number;
  flowSeconds: number;
  auroc: Record<number, number>;
}

/** Rows of T evenly spaced copies taken out of the rows of T_max (evenly spaced angles nest when T divides T_max). */
function subsetRows(rows: Float32Array[], dim: number, tMax: number, t: number): Float32Array {
  const step = tMax / t;
  return concatRows(rows.map((r) => concatRows(Array.from({ length: t }, (_, k) => r.subarray(k * step * dim, (k * step + 1) * dim)))));
}

/**
 * Optional on-disk cache of the CNN features (--cache DIR), so the flow study can be rerun without the
 * feature extraction; timings of a cached run are the ones recorded when the features were computed.
 */
class FeatureCache {
  hit = false;
  recordedSeconds = 0;
  recordedScoreSeconds = 0;
  recordedCalibrationSeconds = 0;
  constructor(private readonly dir?: string) {
    if (dir) mkdirSync(dir, { recursive: true });
    if (dir && existsSync(path.join(dir, 'timings.json'))) {
      const t = JSON.parse(readFileSync(path.join(dir, 'timings.json'), 'utf8'));
      this.recordedSeconds = t.featureSeconds ?? 0;
      this.recordedScoreSeconds = t.scoreSeconds ?? 0;
      this.recordedCalibrationSeconds = t.calibrationSeconds ?? 0;
    }
  }
  private file(key: string) {
    return this.dir ? path.join(this.dir, key + '.f32') : null;
  }
  private save() {
    if (this.dir) writeFileSync(path.join(this.dir, 'timings.json'), JSON.stringify({ featureSeconds: this.recordedSeconds, scoreSeconds: this.recordedScoreSeconds, calibrationSeconds: this.recordedCalibrationSeconds }));
  }
  recordSeconds(s: number) {
    this.recordedSeconds = s;
    this.save();
  }
  recordCalibrationSeconds(s: number) {
    this.recordedCalibrationSeconds = s;
    this.save();
  }
  blob(key: string): Uint8Array | null {
    const f = this.dir ? path.join(this.dir, key + '.differnet') : null;
    return f && existsSync(f) ? new Uint8Array(readFileSync(f)) : null;
  }
  putBlob(key: string, bytes: Uint8Array) {
    if (this.dir) writeFileSync(path.join(this.dir, key + '.differnet'), bytes);
  }
  recordScoreSeconds(s: number) {
    this.recordedScoreSeconds = s;
    this.save();
  }
  private read(key: string): Float32Array | null {
    const f = this.file(key);
    if (!f || !existsSync(f)) return null;
    const b = readFileSync(f);
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }
  private write(key: string, data: Float32Array) {
    const f = this.file(key);
    if (f) writeFileSync(f, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  async bank(key: string, make: () => Promise<FeatureBank>): Promise<FeatureBank> {
    const meta = this.read(key + '-meta');
    const data = this.read(key);
    this.hit = !!(meta && data);
    if (meta && data) return { dim: meta[0], count: meta[1], copies: meta[2], data };
    const b = await make();
    this.write(key, b.data);
    this.write(key + '-meta', new Float32Array([b.dim, b.count, b.copies]));
    return b;
  }
  async rows(key: string, n: number, make: () => Promise<Float32Array[]>): Promise<Float32Array[]> {
    const data = this.read(key);
    this.hit = !!data;
    if (data) {
      const per = data.length / n;
      return Array.from({ length: n }, (_, i) => data.subarray(i * per, (i + 1) * per));
    }
    const r = await make();
    this.write(key, concatRows(r));
    return r;
  }
}

export async function benchCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      weights: { type: 'string' },
      widths: { type: 'string' },
      'study-epochs': { type: 'string' },
      'pixel-limit': { type: 'string' },
      'pixel-transforms': { type: 'string' },
      threads: { type: 'string' },
      out: { type: 'string' },
      cache: { type: 'string' },
    },
  });
  const data = values.data ?? sharedPath('datasets', 'mtd');
  const weights = values.weights ?? sharedPath('weights', 'squeezenet1_1-imagenet.pth');
  const widths = (values.widths ?? '64,128,256').split(',').map(Number);
  const out = values.out ?? 'BENCHMARKS.md';
  const settings: ModelSettings = structuredClone(DEFAULT_SETTINGS);
  const tMax = 16;
  const mem = new PeakMemory();
  const started = new Date();
  const ds = readMvtecFolder(data, { requireTrain: true, requireTest: true });
  const backend = await initNodeBackend();
  const backbone = loadBackboneFile(weights);
  const dim = featureDim(backbone, settings.features);
  const pool = await EnginePool.create({ kind: 'backbone', weightsPath: weights, backbone: backbone.id, features: settings.features }, intFlag(values, 'threads', defaultThreads()));
  const log = (s: string) => console.log(s);
  try {
    // 1. Features of the training bank and of the test set (the CNN work), optionally cached.
    const t0 = Date.now();
    const cache = new FeatureCache(values.cache);
    const bank: FeatureBank = await cache.bank(`bank-${backbone.weightsHash}-${settings.train.copies}-${settings.train.seed}`, () => trainingBank(pool, ds.train, settings, dim, false));
    const featureSeconds = cache.hit ? cache.recordedSeconds : (Date.now() - t0) / 1000;
    cache.recordSeconds(featureSeconds);
    // Test features once at T=16; T=1, 4 and 8 are nested subsets of the same evenly spaced angles.
    const s0 = Date.now();
    const rows = await cache.rows(`test-${backbone.weightsHash}-${tMax}`, ds.test.length, () => testRows(pool, ds.test, tMax, false));
    const scoreSeconds = cache.hit ? cache.recordedScoreSeconds : (Date.now() - s0) / 1000;
    cache.recordScoreSeconds(scoreSeconds);
    const tFlow = Date.now();
    const modelKey = `model-${backbone.weightsHash}-${JSON.stringify(settings).length}-${settings.flow.hidden}-${settings.train.epochs}x${settings.train.subEpochs}`;
    const cached = cache.blob(modelKey);
    let model: DifferNet;
    let trainSeconds: number;
    if (cached) {
      model = loadModel(cached, backbone).model;
      trainSeconds = featureSeconds + model.training!.flowSeconds + cache.recordedCalibrationSeconds;
    } else {
      model = await trainOnBank(backbone, bank, settings, backend, featureSeconds, false);
      const tCal = Date.now();
      await calibrateOnTraining(model, bank, ds.train, false);
      cache.recordCalibrationSeconds((Date.now() - tCal) / 1000);
      // Training = features + flow + calibration; the test features computed above are not part of it.
      trainSeconds = featureSeconds + (Date.now() - tFlow) / 1000;
    }
    const modelBytes = await saveModel(model, { name: 'bench', includeBackbone: true });
    if (!cached) cache.putBlob(modelKey, modelBytes);
    log(`trained in ${formatSeconds(trainSeconds)}`);

    const aurocAt = async (m: DifferNet, t: number) => imageMetrics(ds.test, await scoreFeatureRows(m.flow, subsetRows(rows, dim, tMax, t), dim, t), m.calibration?.threshold ?? null);
    const main = await aurocAt(model, tMax);
    const byT: Record<number, number> = {};
    for (const t of [1, 4, 8, 16]) byT[t] = (await aurocAt(model, t)).imageAuroc;
    log(`image AUROC ${(main.imageAuroc * 100).toFixed(2)} at T=16`);

    // 3. Latency of inspecting one image: its copies split over the threads, as a user waiting on one part.
    const latency: Record<number, number> = {};
    for (const t of [16, 64]) {
      const specs = scoreAngles({ transforms: t }).map((angle) => ({ angle }));
      const parts = Array.from({ length: pool.size }, (_, k) => specs.filter((_, j) => j % pool.size === k));
      const runs: number[] = [];
      for (const img of ds.test.slice(0, 3)) {
        const l0 = Date.now();
        const res = await Promise.all(parts.map((p) => pool.run({ kind: 'copies', imagePath: img.path, specs: p })));
        const got = concatRows(res.map((r) => (r.ok && r.kind === 'copies' ? r.rows : new Float32Array())));
        await scoreFeatureRows(model.flow, got, dim, t);
        runs.push((Date.now() - l0) / 1000);
      }
      latency[t] = runs.sort((a, b) => a - b)[1];
      log(`latency T=${t}: ${latency[t].toFixed(2)} s`);
    }

    // 4. Pixel AUROC from defect maps (gradients) needs the model in the workers.
    const mapPool = await EnginePool.create({ kind: 'model', modelBytes }, pool.size);
    const pixel = await pixelMetrics(mapPool, ds.test, intFlag(values, 'pixel-transforms', 4), intFlag(values, 'pixel-limit', 40), false).finally(() => mapPool.close());

    // 5. Flow width study on the same cached features.
    const study: StudyRow[] = [];
    for (const width of widths) {
      const s: ModelSettings = { ...settings, flow: { ...settings.flow, hidden: width } };
      if (values['study-epochs']) s.train = { ...s.train, epochs: Number(values['study-epochs']) };
      const m = width === settings.flow.hidden && !values['study-epochs'] ? model : await trainOnBank(backbone, bank, s, backend, featureSeconds, false);
      const auroc: Record<number, number> = {};
      for (const t of [1, 4, 16]) auroc[t] = (await aurocAt(m, t)).imageAuroc;
      const size = (await saveModel(m, { name: 'study', includeBackbone: false })).length;
      study.push({ width, parameters: flowParamCount(m.flow.config), modelMB: size / 1e6, flowSeconds: m.training!.flowSeconds, auroc });
      log(`width ${width}: AUROC ${(auroc[16] * 100).toFixed(2)}, ${(size / 1e6).toFixed(1)} MB, flow ${formatSeconds(m.training!.flowSeconds)}`);
      if (m !== model) m.dispose();
    }
    const peakMB = mem.stop() / 1e6;

    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    const pct = (x: number) => (x * 100).toFixed(2);
    const md = `# Benchmarks

Made by \`npm run bench\` (\`tsx cli/main.ts bench${argv.length ? ' ' + argv.join(' ') : ''}\`) on ${started.toISOString().slice(0, 10)},
${os.cpus().length} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, TF.js backend **${backend}** x ${pool.size} worker threads.
Data: Magnetic Tile Defects (\`../shared/datasets/mtd\`, the paper's split: ${ds.train.length} train, ${ds.test.filter((t) => t.label === 0).length} good + ${ds.test.filter((t) => t.label === 1).length} defective test).
Backbone: SqueezeNet 1.1 ImageNet (\`../shared/weights/squeezenet1_1-imagenet.pth\`), ${dim} features (448/224/112 px).
Default settings: flow ${settings.flow.blocks} blocks x width ${settings.flow.hidden}, clamp ${settings.flow.clamp}; ${settings.train.copies} random rotations per training image computed once,
${settings.train.transforms} per step, ${settings.train.epochs} x ${settings.train.subEpochs} epochs, batch ${settings.train.batchSize}, Adam lr ${settings.train.adam.lr}; scoring with T evenly spaced rotations.
All AUROCs are of the **final** model (no best-of-run selection).

## Default model

| metric | value |
| --- | --- |
| image AUROC, T=16 | **${pct(main.imageAuroc)}** |
| image AUROC, T=1 / 4 / 8 | ${pct(byT[1])} / ${pct(byT[4])} / ${pct(byT[8])} |
| per defect type (T=16) | ${Object.entries(main.perDefect).map(([d, r]) => `${d} ${pct(r.auroc)}`).join(', ')} |
| pixel AUROC | ${pixel ? `${pct(pixel.pixelAuroc)} (${pixel.images} test images spread over all types, T=${pixel.transforms}, ${formatSeconds(pixel.seconds)})` : 'n/a'} |
| F1-max (T=16) | ${main.f1Max.f1.toFixed(3)} at ${main.f1Max.threshold.toFixed(4)} |
| training wall time (features + flow + calibration) | ${formatSeconds(trainSeconds)} (features ${formatSeconds(featureSeconds)}, flow ${formatSeconds(model.training!.flowSeconds)}) |
| feature extraction | ${((bank.count * bank.copies) / featureSeconds).toFixed(2)} image copies/s (3 scales, 448 px) |
| scoring the test set at T=16 | ${(scoreSeconds / ds.test.length).toFixed(2)} s per image (throughput, ${pool.size} threads) |
| inspection latency of one image, T=16 / T=64 (score) | ${latency[16].toFixed(2)} s / ${latency[64].toFixed(2)} s |
| model file (flow + backbone) | ${(modelBytes.length / 1e6).toFixed(1)} MB |
| flow parameters | ${(flowParamCount(model.flow.config) / 1e6).toFixed(2)}M |
| peak memory (RSS) | ${peakMB.toFixed(0)} MB |

## Flow width study (same cached features${values['study-epochs'] ? `, ${values['study-epochs']} x ${settings.train.subEpochs} epochs` : ''})

The paper's width 2048 has ${(flowParamCount({ inputDim: dim, blocks: 8, hidden: 2048, clamp: 3 }) / 1e6).toFixed(0)}M parameters for ${dim} inputs.

| width | parameters | flow file | flow training | AUROC T=1 | AUROC T=4 | AUROC T=16 |
| --- | --- | --- | --- | --- | --- | --- |
${study.map((r) => `| ${r.width} | ${(r.parameters / 1e6).toFixed(2)}M | ${r.modelMB.toFixed(1)} MB | ${formatSeconds(r.flowSeconds)} | ${pct(r.auroc[1])} | ${pct(r.auroc[4])} | ${pct(r.auroc[16])} |`).join('\n')}
`;
    writeFileSync(out, md);
    log(`wrote ${path.resolve(out)}`);
    model.dispose();
  } finally {
    await pool.close();
    backbone.dispose();
  }
}
