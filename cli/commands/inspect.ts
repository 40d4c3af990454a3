import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readModelArg, scoringAngles } from '../modelArg';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatDisplayScore, formatRawScore, judge, loadModel, overlayHeatmap } from '../../src/core';
import { initNodeBackend } from '../../src/core/node/backend';
import { decodeImage, encodePng } from '../io/decode';
import { intFlag, UsageError } from '../options';
import { mapLimit } from '../parallel';
import { defaultThreads, EnginePool } from '../pool/pool';
import { ProgressBar } from '../progressBar';

export const INSPECT_HELP = `differnet inspect --model MODEL IMAGE... [--out-dir DIR] [--transforms T] [--threads N] [--json]
  Scores each image, gives a verdict against the model's threshold, and writes the defect map as a PNG
  overlay (<name>.defects.png beside the image, or into --out-dir) on the model's fixed colour scale.`;

export interface InspectResult {
  image: string;
  /** The displayed score: 0 to 1, the threshold at 0.5 (src/core/inspection/verdict.ts). */
  score?: number;
  /** The DifferNet score (mean z^2), unbounded. */
  rawScore?: number;
  verdict?: 'OK' | 'DEFECT' | 'UNCALIBRATED';
  overlay?: string;
  /** Set when the image was larger than the engine takes and was scored at this size. */
  downscaledTo?: [number, number];
  seconds?: number;
  error?: string;
}

export async function inspectCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { model: { type: 'string' }, 'out-dir': { type: 'string' }, transforms: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (!values.model || positionals.length === 0) throw new UsageError('inspect needs --model and at least one image');
  const modelBytes = readModelArg(values.model);
  const plan = await initNodeBackend();
  const { model, manifest } = loadModel(modelBytes, plan.features);
  const calibration = model.calibration;
  let transforms: number;
  try {
    transforms = scoringAngles(model, values).length;
  } finally {
    model.dispose();
    model.backbone.dispose();
  }
  const outDir = values['out-dir'];
  if (outDir) mkdirSync(outDir, { recursive: true });
  const pool = await EnginePool.create({ kind: 'model', modelBytes }, plan, Math.min(intFlag(values, 'threads', defaultThreads()), positionals.length));
  const bar = new ProgressBar('inspect', positionals.length, 'img', values.json === true && !process.stderr.isTTY);
  let done = 0;
  try {
    const results = await mapLimit(positionals, pool.size, async (image): Promise<InspectResult> => {
      const t0 = Date.now();
      const r = await pool.run({ kind: 'map', imagePath: image, transforms });
      bar.update(++done);
      if (!r.ok || r.kind !== 'map') return { image, error: r.ok ? 'unexpected result' : r.error };
      const img = decodeImage(new Uint8Array(readFileSync(image)), image);
      const scale = calibration ? { low: calibration.mapLow, high: calibration.mapHigh } : { low: 0, high: r.map.reduce((m, v) => Math.max(m, v), 0) || 1 };
      const stem = path.basename(image).replace(/\.[^.]+$/, '');
      const overlay = path.join(outDir ?? path.dirname(image), `${stem}.defects.png`);
      writeFileSync(overlay, encodePng(overlayHeatmap(img, r.map, scale)));
      const j = calibration ? judge(r.score, calibration) : null;
      const verdict = j ? (j.verdict === 'defect' ? 'DEFECT' : 'OK') : 'UNCALIBRATED';
      return { image, score: j?.display, rawScore: r.score, verdict, overlay, downscaledTo: r.downscaledTo, seconds: (Date.now() - t0) / 1000 };
    });
    bar.done();
    if (values.json) {
      const modelInfo = { file: values.model, name: manifest.name, savedAt: manifest.savedAt, version: manifest.version };
      // One name per scale, as in the app's exports: `threshold` beside the 0-1 `score`, `rawThreshold` beside `rawScore`.
      process.stdout.write(JSON.stringify({ command: 'inspect', model: modelInfo, threshold: calibration ? 0.5 : null, rawThreshold: calibration?.threshold ?? null, displayThreshold: 0.5, transforms, results }) + '\n');
    } else {
      for (const r of results) {
        const note = r.downscaledTo ? ` (downscaled to ${r.downscaledTo.join('x')})` : '';
        const shown = r.score === undefined ? `raw ${formatRawScore(r.rawScore!)}` : `${formatDisplayScore(r.score)} (raw ${formatRawScore(r.rawScore!)})`;
        console.log(r.error ? `${r.image}: ERROR ${r.error}` : `${r.verdict!.padEnd(6)} ${shown}  ${r.image} -> ${r.overlay}${note}`);
      }
    }
    if (results.some((r) => r.error)) process.exitCode = 1;
  } finally {
    await pool.close();
  }
}
