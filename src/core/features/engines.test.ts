// The two feature engines (execution/): the WebAssembly kernels, which the plan picks on TF.js's CPU
// backends (the CLI, the app on WASM), and TF.js's ops, which it picks on WebGPU and WebGL, must give the
// same scores and verdicts on real images with real weights, or a part's verdict would depend on the
// machine it was checked on. Held on the MTD test images nearest the threshold, where a flip would show.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackbone, readBackboneWeights, type Backbone } from '../backbones';
import type { ExecutionPlan } from '../execution/executionPlan';
import { TFJS_ENGINE } from '../execution/tfjsEngine';
import { DifferNet } from '../model/differnet';
import { DEFAULT_SETTINGS, forBackbone, type ModelSettings } from '../model/settings';
import { arraySource } from '../train/featureBank';
import { trainModel } from '../train/pipeline';
import { verdictOf } from '../inspection/verdict';
import { mtdImage } from '../../../test/support/images';
import { readShared } from '../../../test/support/shared';
import { setupTf } from '../../../test/support/tf';
import type { RgbaImage } from '../image';

/**
 * Measured: 3e-5 relative on MTD (SqueezeNet, 761 test images); float32 sums in another order. A change of
 * policy on one side (resize, normalisation, taps, pooling) moves scores by percent.
 */
const REL = 1e-4;

/** Images compared on both engines, with maps: those of the pool nearest the threshold. */
const NEAR = 12;

const DEFECTS = ['blowhole', 'break', 'crack', 'fray', 'uneven'];

const nets: { name: string; file: string; settings: (s: ModelSettings) => ModelSettings }[] = [
  { name: 'SqueezeNet 1.1, 448 + 224 + 112 px', file: 'squeezenet1_1-imagenet.pth', settings: (s) => forBackbone(s, 'squeezenet1_1') },
  { name: 'GoogLeNet, four taps at 224 px', file: 'bvlc_googlenet.caffemodel', settings: (s) => forBackbone(s, 'googlenet') },
];

let plan: ExecutionPlan;
beforeAll(async () => void (plan = await setupTf()));

for (const net of nets) {
  describe(`${net.name}: WebAssembly and TF.js engines`, () => {
    let bb: Backbone;
    let model: DifferNet;
    let pool: RgbaImage[];
    beforeAll(async () => {
      expect(plan.features.name, 'the plan on the WASM backend').toBe('wasm');
      bb = createBackbone(readBackboneWeights(readShared('weights', net.file)));
      const good = Array.from({ length: 20 }, (_, i) => mtdImage('train', 'good', i * 7));
      const base = net.settings(DEFAULT_SETTINGS);
      // A small flow trained briefly: the point is two engines under one model, not its accuracy.
      const s: ModelSettings = { ...base, flow: { ...base.flow, hidden: 64 }, train: { ...base.train, epochs: 2 } };
      model = await trainModel(bb, arraySource(good), s, { plan });
      // 40 test images, half good; scored below on the WebAssembly engine to find those nearest the threshold.
      pool = [...Array.from({ length: 20 }, (_, i) => mtdImage('test', 'good', i * 9)), ...DEFECTS.flatMap((d) => [0, 7, 14, 21].map((i) => mtdImage('test', d, i)))];
    }, 600_000);
    afterAll(() => {
      model?.dispose();
      bb?.dispose();
    });

    it(`give the same scores and verdicts on the ${NEAR} of 40 MTD test images nearest the threshold`, async () => {
      const threshold = model.calibration!.threshold;
      const onTf = new DifferNet(TFJS_ENGINE, model.backbone, model.flow, model.settings, model.calibration);
      const all: number[] = [];
      for (const img of pool) all.push(await model.score(img));
      expect(bb.host, 'scores ran on the WebAssembly kernels').toBeTruthy();
      const margin = (s: number) => Math.abs(Math.log(s / threshold));
      const near = all.map((s, i) => ({ s, i })).sort((a, b) => margin(a.s) - margin(b.s)).slice(0, NEAR);
      // The comparison says something about the threshold: the images straddle it, and the nearest is close.
      expect(new Set(near.map((n) => verdictOf(n.s, threshold))).size).toBe(2);
      expect(margin(near[0].s)).toBeLessThan(0.1);
      let worst = 0;
      for (const { s: wasm, i } of near) {
        const img = pool[i];
        // On one engine, an image's score is the same number with or without its map: Inspect (map) and a
        // recalibration (no map) must never disagree about an image on the threshold.
        expect((await model.defectMap(img)).score, `image ${i}: WebAssembly map`).toBe(wasm);
        // TF.js's map takes its score from the z of its own differentiated forward pass, a few float32
        // roundings away from score()'s (4e-7 relative measured): held like the other engine's.
        for (const other of [await onTf.score(img), (await onTf.defectMap(img)).score]) {
          worst = Math.max(worst, Math.abs(other - wasm) / Math.abs(wasm));
          // A verdict may only differ for a score within the engines' spread of the threshold.
          if (margin(wasm) > REL) expect(verdictOf(other, threshold), `image ${i}`).toBe(verdictOf(wasm, threshold));
        }
      }
      expect(worst).toBeLessThan(REL);
      console.log(`${net.name}: nearest margins ${near.map((n) => margin(n.s).toExponential(1)).join(' ')}; worst relative difference ${worst.toExponential(2)}`);
      // Both verdicts occur in the pool, so the threshold separates something.
      expect(new Set(all.map((v) => verdictOf(v, threshold))).size).toBe(2);
    }, 600_000);
  });
}
