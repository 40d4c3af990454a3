// Per-image score latency of the two default models' shapes, side by side in one process: the WebAssembly
// backbone (GoogLeNet's default taps at 224 px against SqueezeNet's last layer at 448 + 224 + 112 px), then
// the default flow (8 blocks, width 192, random weights: the same work as a trained one) on that row. Image
// decoding and resizing are left out. Runs alternate between the two, so that a contended machine slows both
// alike; the ratio of medians is the number to read.
//   npx tsx scripts/measureBackboneLatency.ts [--runs 40] [--threads N]
// --threads counts this thread too (default: every core).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GOOGLENET_DEFAULT_TAPS, readBackboneWeights } from '../src/core/backbones';
import { googlenetPlan } from '../src/core/backbones/googlenet';
import { squeezenetPlan } from '../src/core/backbones/squeezenet';
import { HostBackbone } from '../src/core/backbones/hostBackbone';
import { nodeThreadSpawner } from '../src/core/node/threads';
import { enableRelaxedSimd } from '../src/core/node/wasmFeatures';
import { availableParallelism } from 'node:os';
import { Flow } from '../src/core/flow';
import { scoreFeatureRows } from '../src/core/score/score';
import { DEFAULT_SETTINGS } from '../src/core/model/settings';
import { initNodeBackend } from '../src/core/node/backend';

const { values } = parseArgs({ options: { runs: { type: 'string' }, threads: { type: 'string' } } });
const runs = Number(values.runs ?? 40);
const threads = Number(values.threads ?? availableParallelism());
const shared = process.env.DIFFERNET_SHARED ?? join(import.meta.dirname, '..', '..', 'shared');
enableRelaxedSimd();
await initNodeBackend();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const weights = (name: string) => readBackboneWeights(new Uint8Array(readFileSync(join(shared, 'weights', name))));
const opts = { helpers: threads - 1, spawn: nodeThreadSpawner };
const g = await HostBackbone.create(googlenetPlan(weights('bvlc_googlenet.caffemodel')), opts, 224);
const s = await HostBackbone.create(squeezenetPlan(weights('squeezenet1_1-imagenet.pth')), opts, 448);

const image = (side: number) => Float32Array.from({ length: side * side * 3 }, (_, i) => ((i * 2654435761) >>> 24) / 255);
const inputs = [448, 224, 112].map(image);
const arms = [
  { name: 'googlenet  224 px, taps 3b 4a 4c 4e', features: () => g.pooled(inputs[1], 224, GOOGLENET_DEFAULT_TAPS) },
  {
    name: 'squeezenet 448 + 224 + 112 px, last layer',
    features: async () => {
      const rows = await Promise.all([448, 224, 112].map((side, i) => s.pooled(inputs[i], side)));
      const out = new Float32Array(rows.reduce((a, r) => a + r.length, 0));
      rows.reduce((at, r) => (out.set(r, at), at + r.length), 0);
      return out;
    },
  },
].map((a) => ({ ...a, flow: null as Flow | null, backbone: [] as number[], score: [] as number[] }));
for (let r = 0; r < runs + 3; r++) {
  for (const a of arms) {
    const t = performance.now();
    const row = await a.features();
    const tb = performance.now() - t;
    a.flow ??= Flow.random({ inputDim: row.length, ...DEFAULT_SETTINGS.flow });
    await scoreFeatureRows(a.flow, row, row.length, 1);
    // The first runs compile and warm the kernels.
    if (r >= 3) {
      a.backbone.push(tb);
      a.score.push(performance.now() - t);
    }
  }
}
console.log(`${threads} thread(s) for the backbone, ${runs} runs each, medians (ms):`);
console.log('| model | features | features + flow |');
console.log('| --- | --- | --- |');
for (const a of arms) console.log(`| ${a.name} (${a.flow!.config.inputDim} features) | ${median(a.backbone).toFixed(1)} | ${median(a.score).toFixed(1)} |`);
const [gn, sq] = arms;
console.log(`| ratio googlenet / squeezenet | ${(median(gn.backbone) / median(sq.backbone)).toFixed(3)} | ${(median(gn.score) / median(sq.score)).toFixed(3)} |`);
for (const a of arms) a.flow!.dispose();
g.dispose();
s.dispose();
