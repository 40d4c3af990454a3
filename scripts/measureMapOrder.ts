// Pixel AUROC of one model's defect maps in both orders (mapOrder 'official' and 'abs-first') on the same
// test images, in one process: what `differnet eval` would report with a --map-order flag (it has none yet).
//   npx tsx scripts/measureMapOrder.ts --model MODEL --data DIR [--limit 40] [--transforms 4]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadModel, pixelAuroc, pixelTruth, type MapOrder } from '../src/core/internal';
import { initNodeBackend } from '../src/core/node/backend';
import { decodeForInspection } from '../cli/io/decode';
import { loadMask, readMvtecFolder } from '../cli/io/mvtec';
import { evenlySpaced } from '../cli/pipeline';

const { values } = parseArgs({ options: { model: { type: 'string' }, data: { type: 'string' }, limit: { type: 'string' }, transforms: { type: 'string' } } });
if (!values.model || !values.data) throw new Error('usage: measureMapOrder.ts --model MODEL --data DIR [--limit 40] [--transforms 4]');
const limit = Number(values.limit ?? 40);
const transforms = Number(values.transforms ?? 4);

const plan = await initNodeBackend();
const { model } = loadModel(new Uint8Array(readFileSync(values.model)), plan.features);
const ds = readMvtecFolder(values.data, { requireTest: true });
// The images `differnet eval --pixel-limit N` picks: good ones and defective ones with masks, spread evenly.
const chosen = evenlySpaced(
  ds.test.filter((t) => pixelTruth({ label: t.label, hasMask: !!t.maskPath }) !== null),
  limit,
);
const orders: MapOrder[] = ['official', 'abs-first'];
const maps: Record<MapOrder, Float32Array[]> = { official: [], 'abs-first': [] };
const masks: Uint8Array[] = [];
const seconds: Record<MapOrder, number> = { official: 0, 'abs-first': 0 };
for (const [k, t] of chosen.entries()) {
  const img = decodeForInspection(new Uint8Array(readFileSync(t.path)), t.path);
  for (const mapOrder of orders) {
    const t0 = Date.now();
    const d = await model.defectMap(img, { transforms, mapOrder });
    seconds[mapOrder] += (Date.now() - t0) / 1000;
    maps[mapOrder].push(d.map);
  }
  masks.push(t.maskPath ? loadMask(t.maskPath, img.width, img.height) : new Uint8Array(img.width * img.height));
  process.stderr.write(`\r${k + 1}/${chosen.length}`);
}
process.stderr.write('\n');
const T = model.scoreAngles(transforms).length;
const defective = chosen.filter((t) => t.label === 1).length;
console.log(`${chosen.length} test images (${defective} defective with masks, ${chosen.length - defective} good), T=${T}, rotate=${model.settings.train.rotate}`);
for (const o of orders) console.log(`pixel AUROC ${o}: ${(pixelAuroc(maps[o], masks) * 100).toFixed(2)} (${(seconds[o] / chosen.length).toFixed(2)} s per map)`);
model.dispose();
