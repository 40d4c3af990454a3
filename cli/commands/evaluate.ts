import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadModel } from '../../src/core';
import { initNodeBackend } from '../../src/core/nodeBackend';
import { readMvtecFolder } from '../io/mvtec';
import { intFlag, UsageError } from '../options';
import { describeDataset, imageMetrics, pixelMetrics, scoreRows, testRows } from '../pipeline';
import { defaultThreads, EnginePool } from '../pool/pool';

export const EVAL_HELP = `differnet eval --model MODEL --data DIR [--transforms T] [--pixel-transforms 4] [--pixel-limit 60] [--no-pixel] [--threads N] [--json]
  Scores DIR/test (MVTec AD layout): image AUROC (overall and per defect type), F1-max threshold,
  confusion at the model's threshold, score statistics, pixel AUROC where ground_truth masks exist, timings.`;

export async function evalCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      data: { type: 'string' },
      transforms: { type: 'string' },
      'pixel-transforms': { type: 'string' },
      'pixel-limit': { type: 'string' },
      'no-pixel': { type: 'boolean' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (!values.model || !values.data) throw new UsageError('eval needs --model and --data');
  const quiet = values.json === true && !process.stderr.isTTY;
  const ds = readMvtecFolder(values.data, { requireTrain: false, requireTest: true });
  const backend = await initNodeBackend();
  const modelBytes = new Uint8Array(readFileSync(values.model));
  const { model, manifest } = loadModel(modelBytes);
  const angles = model.scoreAngles(intFlag(values, 'transforms', model.settings.testTransforms));
  const transforms = angles.length;
  const pool = await EnginePool.create({ kind: 'model', modelBytes }, intFlag(values, 'threads', defaultThreads()));
  try {
    const t0 = Date.now();
    const rows = await testRows(pool, ds.test, angles, quiet);
    const scoreSeconds = (Date.now() - t0) / 1000;
    const scores = await scoreRows(model, rows, transforms);
    const metrics = imageMetrics(ds.test, scores, model.calibration?.threshold ?? null);
    const pixel = values['no-pixel']
      ? null
      : await pixelMetrics(pool, ds.test, model.scoreAngles(intFlag(values, 'pixel-transforms', 4)).length, intFlag(values, 'pixel-limit', 60), quiet);
    const report = {
      command: 'eval',
      model: values.model,
      name: manifest.name,
      backbone: manifest.backbone.id,
      backend,
      threads: pool.size,
      data: describeDataset(ds),
      transforms,
      images: ds.test.length,
      ...metrics,
      pixel,
      timings: { scoreSeconds, secondsPerImage: scoreSeconds / ds.test.length, threads: pool.size },
      scores: ds.test.map((t, i) => ({ path: t.path, defect: t.defect, label: t.label, score: scores[i] })),
    };
    if (values.json) {
      process.stdout.write(JSON.stringify(report) + '\n');
    } else {
      console.log(`${describeDataset(ds)}; ${manifest.backbone.id}, T=${transforms}, ${backend} x ${pool.size}`);
      console.log(`image AUROC ${(metrics.imageAuroc * 100).toFixed(2)}`);
      for (const [d, r] of Object.entries(metrics.perDefect)) console.log(`  ${d.padEnd(12)} n=${String(r.n).padStart(4)}  AUROC ${(r.auroc * 100).toFixed(2)}`);
      if (pixel) console.log(`pixel AUROC ${(pixel.pixelAuroc * 100).toFixed(2)} (${pixel.images} images, T=${pixel.transforms})`);
      console.log(`F1-max ${metrics.f1Max.f1.toFixed(3)} at threshold ${metrics.f1Max.threshold.toFixed(4)} (precision ${metrics.f1Max.precision.toFixed(3)}, recall ${metrics.f1Max.recall.toFixed(3)})`);
      const c = metrics.atModelThreshold;
      if (c) console.log(`at the model's threshold ${c.threshold.toFixed(4)}: TP ${c.tp} FP ${c.fp} TN ${c.tn} FN ${c.fn}`);
      console.log(`good scores mean ${metrics.good.mean.toFixed(4)} (sd ${metrics.good.std.toFixed(4)}); defective mean ${metrics.defective.mean.toFixed(4)}`);
      console.log(`scoring: ${(scoreSeconds / ds.test.length).toFixed(2)} s per image (wall, ${pool.size} threads)`);
    }
  } finally {
    await pool.close();
    model.dispose();
    model.backbone.dispose();
  }
}
