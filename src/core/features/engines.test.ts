// The two engines that compute feature rows (the WebAssembly kernels for scores, thresholds, CLI eval and
// Live; TF.js for defect maps, whose score Inspect, CLI inspect and Evaluate with masks show) must give
// the same scores and verdicts on real images with real weights, or a part's verdict would depend on the
// screen it was checked on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackbone, readBackboneWeights, type Backbone } from '../backbones';
import { DifferNet } from '../model/differnet';
import { DEFAULT_SETTINGS, forBackbone, type ModelSettings } from '../model/settings';
import { arraySource } from '../train/featureBank';
import { trainModel } from '../train/pipeline';
import { verdictOf } from '../inspection/verdict';
import { useHostForward } from './hostForward';
import { mtdImage } from '../../../test/support/images';
import { readShared } from '../../../test/support/shared';
import { setupTf } from '../../../test/support/tf';
import type { RgbaImage } from '../image';

/**
 * Measured: 3e-5 relative on MTD (SqueezeNet, 761 test images); float32 sums in another order. A change of
 * policy on one side (resize, normalisation, taps, pooling) moves scores by percent.
 */
const REL = 1e-4;

const DEFECTS = ['blowhole', 'break', 'crack', 'fray', 'uneven'];

const nets: { name: string; file: string; settings: (s: ModelSettings) => ModelSettings }[] = [
  { name: 'SqueezeNet 1.1, 448 + 224 + 112 px', file: 'squeezenet1_1-imagenet.pth', settings: (s) => forBackbone(s, 'squeezenet1_1') },
  { name: 'GoogLeNet, four taps at 224 px', file: 'bvlc_googlenet.caffemodel', settings: (s) => forBackbone(s, 'googlenet') },
];

beforeAll(setupTf);
afterAll(() => useHostForward(null));

for (const net of nets) {
  describe(`${net.name}: WebAssembly and TF.js engines`, () => {
    let bb: Backbone;
    let model: DifferNet;
    let tests: RgbaImage[];
    beforeAll(async () => {
      bb = createBackbone(readBackboneWeights(readShared('weights', net.file)));
      useHostForward({ helpers: 0 });
      const good = Array.from({ length: 20 }, (_, i) => mtdImage('train', 'good', i * 7));
      const base = net.settings(DEFAULT_SETTINGS);
      // A small flow trained briefly: the point is two engines under one model, not its accuracy.
      const s: ModelSettings = { ...base, flow: { ...base.flow, hidden: 64 }, train: { ...base.train, epochs: 2 } };
      model = await trainModel(bb, arraySource(good), s);
      tests = [...Array.from({ length: 6 }, (_, i) => mtdImage('test', 'good', i * 11)), ...DEFECTS.flatMap((d) => [mtdImage('test', d, 0), mtdImage('test', d, 3)])];
    }, 600_000);
    afterAll(() => {
      model?.dispose();
      bb?.dispose();
    });

    it('give the same scores and verdicts on 16 MTD test images', async () => {
      const threshold = model.calibration!.threshold;
      useHostForward({ helpers: 0 });
      const wasm: number[] = [];
      const wasmMaps: number[] = [];
      for (const img of tests) {
        wasm.push(await model.score(img));
        wasmMaps.push((await model.defectMap(img)).score);
      }
      expect(bb.host, 'scores ran on the WebAssembly kernels').toBeTruthy();
      // On one engine, an image's score is the same number with or without its map: Inspect (map) and a
      // recalibration (no map) must never disagree about an image on the threshold.
      expect(wasmMaps).toEqual(wasm);
      useHostForward(null);
      const tfScores: number[] = [];
      const mapScores: number[] = [];
      for (const img of tests) {
        tfScores.push(await model.score(img));
        mapScores.push((await model.defectMap(img)).score);
      }
      let worst = 0;
      tests.forEach((_, i) => {
        for (const other of [tfScores[i], mapScores[i]]) {
          const rel = Math.abs(other - wasm[i]) / Math.abs(wasm[i]);
          worst = Math.max(worst, rel);
          // A verdict may only differ for a score within the engines' spread of the threshold.
          if (Math.abs(Math.log(wasm[i] / threshold)) > REL) expect(verdictOf(other, threshold), `image ${i}`).toBe(verdictOf(wasm[i], threshold));
        }
      });
      expect(worst).toBeLessThan(REL);
      // Both verdicts occur, so the comparison above says something about the threshold.
      expect(new Set(wasm.map((v) => verdictOf(v, threshold))).size).toBe(2);
    }, 600_000);
  });
}
