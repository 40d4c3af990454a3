import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { BackboneId } from '../../src/core/internal';
import { initNodeBackend } from '../../src/core/node/backend';
import { decodeImage } from '../io/decode';
import { intFlag, UsageError } from '../options';
import { loadBackboneFile } from '../weights';

export const FEATURES_HELP = `differnet features --weights FILE.pth --image IMG [--backbone alexnet|squeezenet1_1] [--size 448] [--scales 3] [--json]
  Prints the multi-scale GAP feature vector of one image (for parity checks against PyTorch).`;

export async function featuresCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { backbone: { type: 'string' }, weights: { type: 'string' }, image: { type: 'string' }, size: { type: 'string' }, scales: { type: 'string' }, json: { type: 'boolean' } },
  });
  if (!values.weights || !values.image) throw new UsageError('features needs --weights and --image');
  const plan = await initNodeBackend();
  const backbone = loadBackboneFile(values.weights, values.backbone as BackboneId | undefined);
  const cfg = { size: intFlag(values, 'size', 448, 32), scales: intFlag(values, 'scales', 3) };
  const img = decodeImage(new Uint8Array(readFileSync(values.image)), values.image);
  const t0 = performance.now();
  const features = await plan.features.copyRows(backbone, cfg, img, [{ angle: 0 }]);
  const seconds = (performance.now() - t0) / 1000;
  const report = { backbone: backbone.id, weightsHash: backbone.weightsHash, image: values.image, size: cfg.size, scales: cfg.scales, backend: plan.backend, engine: plan.features.name, seconds, features: Array.from(features) };
  if (values.json) {
    process.stdout.write(JSON.stringify(report) + '\n');
  } else {
    const f = report.features;
    console.log(`${backbone.id} (${backbone.weightsHash}) on ${plan.backend} (${plan.features.name} engine): ${f.length} features in ${seconds.toFixed(2)} s`);
    console.log(`first: ${f.slice(0, 6).map((v) => v.toFixed(6)).join(' ')}`);
    console.log(`mean ${(f.reduce((a, b) => a + b, 0) / f.length).toFixed(6)}  max ${Math.max(...f).toFixed(6)}`);
  }
  backbone.dispose();
}
