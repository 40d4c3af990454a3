import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackbone, readBackboneWeights, WeightsError } from '.';
import { readCaffeModel } from '../caffe';
import { multiScaleFeatures } from '../features/extractor';
import { HostBackbone } from './hostBackbone';
import { readShared } from '../../../test/support/shared';
import { referenceImage } from '../../../test/support/images';
import { leakedTensors, maxAbsDiff, setupTf, tf } from '../../../test/support/tf';
import { googlenetStateDict, isGooglenetWeightLayer } from './googlenet';
import { planTaps, resolveTaps } from './plan';
import type { Backbone } from './types';

beforeAll(setupTf);

interface Expected {
  taps: Record<string, number[]>;
  tap_shapes: Record<string, number[]>;
}
const expected = JSON.parse(new TextDecoder().decode(readShared('reference', 'googlenet-expected.json'))) as Expected;
/** Our tap names for the reference's blobs; pool5/7x7_s1 is the 7x7 average of inception_5b at 224 px, i.e. its channel means. */
const BLOBS: Record<string, string> = {
  inception_3b: 'inception_3b/output',
  inception_4a: 'inception_4a/output',
  inception_4c: 'inception_4c/output',
  inception_4e: 'inception_4e/output',
  inception_5b: 'pool5/7x7_s1',
};
const ALL = Object.keys(BLOBS);
const want = ALL.flatMap((t) => expected.taps[BLOBS[t]]);

/**
 * The reference's input: PIL's bilinear 448 -> 224 (weights (1, 3, 3, 1)/8 over pixels 2i-1..2i+2, (3, 3, 1)/7 at
 * the borders), each pass rounded half up to 8 bits, as googlenet-expected.json describes. The app's resize
 * skips the rounding; these taps move by about 1 % with it, so the network's parity is checked on PIL's pixels.
 */
function pilHalf(): Float32Array {
  const img = referenceImage();
  const n = img.width;
  const half = n / 2;
  const pass = (get: (i: number) => number) =>
    Array.from({ length: half }, (_, o) => {
      let sum = 0;
      let wsum = 0;
      [1, 3, 3, 1].forEach((w, k) => {
        const i = 2 * o - 1 + k;
        if (i < 0 || i >= n) return;
        sum += w * get(i);
        wsum += w;
      });
      return Math.floor(sum / wsum + 0.5);
    });
  const out = new Float32Array(half * half * 3);
  for (let c = 0; c < 3; c++) {
    const rows = Array.from({ length: n }, (_, y) => pass((x) => img.data[(y * n + x) * 4 + c]));
    for (let x = 0; x < half; x++) {
      const col = pass((y) => rows[y][x]);
      for (let y = 0; y < half; y++) out[(y * half + x) * 3 + c] = col[y] / 255;
    }
  }
  return out;
}

/** |got - want| over the largest |want|, per tap: every tap on its own scale. */
function worstRel(got: ArrayLike<number>): number {
  let at = 0;
  let worst = 0;
  for (const t of ALL) {
    const w = expected.taps[BLOBS[t]];
    const g = Array.from(got).slice(at, at + w.length);
    worst = Math.max(worst, maxAbsDiff(g, w) / Math.max(...w.map(Math.abs)));
    at += w.length;
  }
  return worst;
}

for (const file of ['bvlc_googlenet.caffemodel', 'bvlc_googlenet.v2.caffemodel']) {
  describe(`GoogLeNet from ${file}`, () => {
    let bb: Backbone;
    beforeAll(() => void (bb = createBackbone(readBackboneWeights(readShared('weights', file)))));
    afterAll(() => bb.dispose());

    it('is detected, with inception_3b, 4a, 4c and 4e (2336 channels) as its default taps', () => {
      expect(bb.id).toBe('googlenet');
      expect(bb.plan.defaultTaps).toEqual(['inception_3b', 'inception_4a', 'inception_4c', 'inception_4e']);
      expect(bb.featureWidth).toBe(2336);
      const taps = planTaps(bb.plan);
      for (const t of ALL) expect(taps.find((x) => x.name === t)?.channels).toBe(expected.tap_shapes[BLOBS[t]][1]);
    });

    // Tolerance: 1e-4 of each tap's largest value, the project's parity bound for features.
    it("pools PyTorch's taps of the reference image within 1e-4 on TF.js", async () => {
      const x = tf.tensor4d(pilHalf(), [1, 224, 224, 3]);
      let got: Float32Array = new Float32Array(0);
      const leaked = await leakedTensors(async () => {
        const f = multiScaleFeatures(bb, x, { size: 224, scales: 1, taps: ALL });
        got = (await f.data()) as Float32Array;
        f.dispose();
      });
      expect(leaked).toBe(0);
      expect(got.length).toBe(want.length);
      expect(worstRel(got)).toBeLessThan(1e-4);
      x.dispose();
    });

    it("pools PyTorch's taps within 1e-4 on the engine's kernels, and the same as TF.js at odd sides", async () => {
      const host = await HostBackbone.create(bb.plan, { helpers: 0 }, 224);
      expect(worstRel(await host.pooled(pilHalf(), 224, ALL))).toBeLessThan(1e-4);
      for (const side of [97, 131]) {
        const x = tf.randomUniform([1, side, side, 3], 0, 1, 'float32', side) as tf.Tensor4D;
        const viaTf = tf.tidy(() => multiScaleFeatures(bb, x, { size: side, scales: 1 }).dataSync() as Float32Array);
        const viaHost = await host.pooled(x.dataSync() as Float32Array, side);
        expect(maxAbsDiff(viaHost, viaTf) / Math.max(...Array.from(viaTf, Math.abs))).toBeLessThan(1e-5);
        x.dispose();
      }
      host.dispose();
    });
  });
}

describe('GoogLeNet weights', () => {
  it('come out the same from both Caffe layouts, and only the convolutions are decoded', () => {
    const v1 = readBackboneWeights(readShared('weights', 'bvlc_googlenet.caffemodel'));
    const v2 = readBackboneWeights(readShared('weights', 'bvlc_googlenet.v2.caffemodel'));
    expect([...v1.keys()]).toEqual([...v2.keys()]);
    for (const [k, t] of v1) expect(Buffer.from(v2.get(k)!.data.buffer, v2.get(k)!.data.byteOffset, t.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))).toBe(true);
    const net = readCaffeModel(readShared('weights', 'bvlc_googlenet.caffemodel'), { decodeBlobs: isGooglenetWeightLayer });
    expect(net.layers.find((l) => l.name === 'loss3/classifier')?.blobs).toEqual([]);
  });

  it('hold conv1 with its input channels in RGB order (Caffe reads BGR)', () => {
    const net = readCaffeModel(readShared('weights', 'bvlc_googlenet.caffemodel'), { decodeBlobs: isGooglenetWeightLayer });
    const caffe = net.layers.find((l) => l.name === 'conv1/7x7_s2')!.blobs[0].data;
    const rgb = googlenetStateDict(net).get('features.conv1/7x7_s2.weight')!.data;
    // Filter 5, tap 10: Caffe's channel 0 (blue) is our channel 2.
    expect(rgb[(5 * 3 + 2) * 49 + 10]).toBe(caffe[(5 * 3 + 0) * 49 + 10]);
    expect(rgb[(5 * 3 + 0) * 49 + 10]).toBe(caffe[(5 * 3 + 2) * 49 + 10]);
    expect(rgb[(5 * 3 + 1) * 49 + 10]).toBe(caffe[(5 * 3 + 1) * 49 + 10]);
  });

  it('refuse a caffemodel of another network in one sentence naming what differs', () => {
    const net = readCaffeModel(readShared('weights', 'bvlc_googlenet.v2.caffemodel'), { decodeBlobs: isGooglenetWeightLayer });
    const without = { ...net, layers: net.layers.filter((l) => l.name !== 'inception_4c/5x5') };
    expect(() => googlenetStateDict(without)).toThrow(/not BVLC GoogLeNet.*no layer inception_4c\/5x5/);
    const wide = {
      ...net,
      layers: net.layers.map((l) => (l.name === 'inception_3a/1x1' ? { ...l, convolution: { ...l.convolution!, numOutput: 65 } } : l)),
    };
    expect(() => googlenetStateDict(wide)).toThrow(WeightsError);
    expect(() => googlenetStateDict(wide)).toThrow(/inception_3a\/1x1 is a 1x1 convolution to 65 channels/);
    const short = {
      ...net,
      layers: net.layers.map((l) => (l.name === 'conv2/3x3' ? { ...l, blobs: [{ shape: [10], data: new Float32Array(10) }, l.blobs[1]] } : l)),
    };
    expect(() => googlenetStateDict(short)).toThrow(/conv2\/3x3's weights hold 10 numbers/);
  });

  it('refuse a file that is neither PyTorch nor Caffe, and a truncated caffemodel, with a WeightsError', () => {
    const bytes = readShared('weights', 'bvlc_googlenet.caffemodel');
    expect(() => readBackboneWeights(bytes.subarray(0, 1_000_000))).toThrow(WeightsError);
    expect(() => readBackboneWeights(new TextEncoder().encode('hello, not weights'))).toThrow(/neither a PyTorch file nor a readable Caffe caffemodel/);
  });

  it('name their taps, and an unknown tap lists the ones there are', () => {
    const bb = createBackbone(readBackboneWeights(readShared('weights', 'bvlc_googlenet.v2.caffemodel')));
    expect(() => resolveTaps(bb.plan, ['inception_9z'])).toThrow(/no feature tap "inception_9z"; its taps are conv1\/7x7_s2, .*inception_5b/);
    expect(() => resolveTaps(bb.plan, ['inception_4e', 'inception_3b'])).toThrow(/network order/);
    bb.dispose();
  });
});
