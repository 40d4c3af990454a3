import { parseArgs } from 'node:util';
import { describeCalibration, formatRawScore, judge, loadModel, type Calibration, type MapOrder } from '../../src/core';
import { initNodeBackend } from '../../src/core/node/backend';
import { readMvtecFolder } from '../io/mvtec';
import { readModelArg, scoringAngles } from '../modelArg';
import { intFlag, UsageError } from '../options';
import { describeDataset, imageMetrics, pixelMetrics, scoreRows, testRows } from '../pipeline';
import { defaultThreads, EnginePool } from '../pool/pool';

export const EVAL_HELP = `differnet eval --model MODEL --data DIR [--transforms T] [--pixel-transforms 4] [--pixel-limit 60] [--no-pixel] [--map-order abs-first|official] [--threads N] [--json]
  Scores DIR/test (MVTec AD layout): image AUROC (overall and per defect type), F1-max threshold, at the
  model's own threshold the confusion counts, false-alarm rate and recall, score statistics, pixel AUROC
  where ground_truth masks exist, timings. --transforms and --pixel-transforms apply to rotating models only.`;

const pct = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '—' : `${(x * 100).toFixed(2)}`);

/** What eval reports about how the model's threshold was set. */
export function calibrationSummary(c: Calibration | null) {
  if (!c) return null;
  return {
    method: c.method,
    source: c.source,
    targetFalseAlarmRate: c.method.kind === 'false-alarm-rate' ? c.method.rate : null,
    heldOutImages: c.source === 'held-out' ? c.good.n : 0,
    guarantee: c.guarantee,
    text: describeCalibration(c),
  };
}

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
      'map-order': { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (!values.model || !values.data) throw new UsageError('eval needs --model and --data');
  const mapOrder = values['map-order'] as MapOrder | undefined;
  if (mapOrder !== undefined && mapOrder !== 'official' && mapOrder !== 'abs-first') throw new UsageError(`--map-order takes official or abs-first, got "${mapOrder}"`);
  const modelBytes = readModelArg(values.model);
  const quiet = values.json === true && !process.stderr.isTTY;
  const ds = readMvtecFolder(values.data, { requireTrain: false, requireTest: true });
  const plan = await initNodeBackend();
  const backend = plan.backend;
  const { model, manifest } = loadModel(modelBytes, plan.features);
  try {
    const angles = scoringAngles(model, values);
    const pixelAngles = values['no-pixel'] ? [] : scoringAngles(model, { 'pixel-transforms': values['pixel-transforms'] ?? (model.settings.train.rotate ? '4' : undefined) }, 'pixel-transforms');
    const transforms = angles.length;
    const pool = await EnginePool.create({ kind: 'model', modelBytes }, plan, intFlag(values, 'threads', defaultThreads()));
    try {
      const t0 = Date.now();
      const rows = await testRows(pool, ds.test, angles, quiet);
      const scoreSeconds = (Date.now() - t0) / 1000;
      const scores = await scoreRows(model, rows, transforms);
      const cal = model.calibration;
      const metrics = imageMetrics(ds.test, scores, cal?.threshold ?? null);
      const pixel = values['no-pixel'] ? null : await pixelMetrics(pool, ds.test, pixelAngles.length, intFlag(values, 'pixel-limit', 60), quiet, cal, mapOrder);
      const report = {
        command: 'eval',
        model: values.model,
        name: manifest.name,
        backbone: manifest.backbone.id,
        backend,
        threads: pool.size,
        data: describeDataset(ds),
        transforms,
        ...metrics,
        calibration: calibrationSummary(cal),
        pixel,
        timings: { scoreSeconds, secondsPerImage: scoreSeconds / ds.test.length, threads: pool.size },
        scores: ds.test.map((t, i) => {
          const j = cal ? judge(scores[i], cal) : null;
          return { path: t.path, defect: t.defect, label: t.label, score: j?.display ?? null, rawScore: scores[i], verdict: j?.verdict ?? null };
        }),
      };
      if (values.json) {
        process.stdout.write(JSON.stringify(report) + '\n');
        return;
      }
      console.log(`${describeDataset(ds)}; ${manifest.backbone.id}, T=${transforms}, ${backend} x ${pool.size}`);
      console.log(`image AUROC ${pct(metrics.imageAuroc)}`);
      for (const [d, r] of Object.entries(metrics.perDefect)) console.log(`  ${d.padEnd(12)} n=${String(r.n).padStart(4)}  AUROC ${pct(r.auroc)}  recall ${pct(r.recall)}`);
      if (pixel) console.log(`pixel AUROC ${pct(pixel.pixelAuroc)} (${pixel.images} images, T=${pixel.transforms})`);
      if (pixel?.fullColour) console.log(`heatmap pixels at full colour (median): good ${pct(pixel.fullColour.good)} %, defective ${pct(pixel.fullColour.defective)} %`);
      const c = metrics.atThreshold;
      if (c && cal) {
        console.log(`at the model's threshold (${describeCalibration(cal)}):`);
        console.log(`  false alarms ${c.fp} of ${c.fp + c.tn} good (${pct(c.falseAlarmRate)} %), defects found ${c.tp} of ${c.tp + c.fn} (recall ${pct(c.recall)} %); TP ${c.tp} FP ${c.fp} TN ${c.tn} FN ${c.fn}`);
      } else console.log('the model has no threshold yet (uncalibrated)');
      if (metrics.f1Max) console.log(`F1-max ${metrics.f1Max.f1.toFixed(3)} at raw score ${formatRawScore(metrics.f1Max.threshold)} (precision ${metrics.f1Max.precision.toFixed(3)}, recall ${metrics.f1Max.recall.toFixed(3)})`);
      console.log(`raw scores: good median ${formatRawScore(metrics.good.median)}, defective median ${formatRawScore(metrics.defective.median)}`);
      console.log(`scoring: ${(scoreSeconds / ds.test.length).toFixed(2)} s per image (wall, ${pool.size} threads)`);
    } finally {
      await pool.close();
    }
  } finally {
    model.dispose();
    model.backbone.dispose();
  }
}
