import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBackbone, isBackboneKey, type Backbone } from '.';
import { TFJS_ENGINE } from '../execution/tfjsEngine';
import { WasmFeatureEngine } from '../execution/wasmEngine';
import { downsampleNearest, toUnitRgb } from '../features/preprocess';
import { multiScaleFeatures } from '../features/extractor';
import { nodeThreadSpawner } from '../node/threads';
import { enableRelaxedSimd } from '../node/wasmFeatures';
import { readPth } from '../torch';
import { readReference, readShared } from '../../../test/support/shared';
import { referenceImage, syntheticPart } from '../../../test/support/images';
import { maxAbsDiff, setupTf, tf } from '../../../test/support/tf';
import type { KernelFlavour } from '../wasm/gemmKernels';
import { HostBackbone } from './hostBackbone';
import { Helper } from '../wasm/helperPool';

beforeAll(setupTf);
const wasm = new WasmFeatureEngine({ helpers: 0 });

const ref = readReference();
const flavours: KernelFlavour[] = [{ fma: false }, ...(enableRelaxedSimd() ? [{ fma: true }] : [])];
const nets: { name: string; load: () => Backbone; want: number[] }[] = [
  { name: 'SqueezeNet 1.1 (ImageNet)', load: () => createBackbone(readPth(readShared('weights', 'squeezenet1_1-imagenet.pth'), { include: isBackboneKey })), want: ref.squeezenet1_1_imagenet.gap_multiscale },
  { name: 'AlexNet (random)', load: () => createBackbone(readPth(readShared('reference', 'alexnet-features-random.legacy.pth'), { include: isBackboneKey })), want: ref.alexnet_random.gap_multiscale },
];

/** |got - want| over the largest |want|. */
function rel(got: ArrayLike<number>, want: ArrayLike<number>): number {
  return maxAbsDiff(got, want) / Math.max(...Array.from(want, Math.abs));
}

async function hostMultiScale(host: HostBackbone, rgb: tf.Tensor4D, size: number, width: number): Promise<Float32Array> {
  const out = new Float32Array(3 * width);
  for (let s = 0; s < 3; s++) {
    const side = Math.floor(size / 2 ** s);
    const px = tf.tidy(() => downsampleNearest(rgb, side).dataSync() as Float32Array);
    out.set(await host.pooled(px, side), s * width);
  }
  return out;
}

for (const net of nets) {
  describe(`${net.name} on the host kernels`, () => {
    let bb: Backbone;
    beforeAll(() => void (bb = net.load()));
    afterAll(() => bb.dispose());

    for (const fl of flavours) {
      it(`matches PyTorch's multi-scale features within 1e-4 (${fl.fma ? 'fused' : 'unfused'} products)`, async () => {
        const host = await HostBackbone.create(bb.plan, { helpers: 0, flavour: fl }, 448);
        const x = tf.tidy(() => toUnitRgb(referenceImage(), 448).expandDims(0) as tf.Tensor4D);
        expect(rel(await hostMultiScale(host, x, 448, bb.featureWidth), net.want)).toBeLessThan(1e-4);
        x.dispose();
        host.dispose();
      });
    }

    // Odd sides exercise partial pool windows (SqueezeNet's ceil mode) and patches clipped at the borders.
    for (const side of [67, 97, 130]) {
      it(`matches the TF.js backbone within 1e-5 at ${side} px, growing its memory from 64 px`, async () => {
        const host = await HostBackbone.create(bb.plan, { helpers: 0 }, 64);
        const x = tf.randomUniform([1, side, side, 3], 0, 1, 'float32', side) as tf.Tensor4D;
        const want = tf.tidy(() => tf.mean(bb.apply(x), [1, 2]).dataSync() as Float32Array);
        const got = await host.pooled(x.dataSync() as Float32Array, side);
        expect(rel(got, want)).toBeLessThan(1e-5);
        x.dispose();
        host.dispose();
      });
    }

    it('gives the same floats on two threads as on one, and on one thread of two when limited to it', async () => {
      const one = await HostBackbone.create(bb.plan, { helpers: 0 }, 224);
      const two = await HostBackbone.create(bb.plan, { helpers: 1, spawn: nodeThreadSpawner }, 224);
      expect(two.threads).toBe(2);
      const px = Float32Array.from({ length: 224 * 224 * 3 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2);
      const want = Array.from(await one.pooled(px, 224));
      expect(Array.from(await two.pooled(px, 224))).toEqual(want);
      const posts = vi.spyOn(Helper.prototype, 'post');
      try {
        expect(Array.from(await two.pooled(px, 224, undefined, 1))).toEqual(want);
        expect(posts).not.toHaveBeenCalled();
      } finally {
        posts.mockRestore();
      }
      expect(two.threads).toBe(2);
      one.dispose();
      two.dispose();
    });
  });
}

describe('feature rows', () => {
  let bb: Backbone;
  beforeAll(() => void (bb = nets[0].load()));
  afterAll(() => bb.dispose());

  it('are the same on the host kernels as on TF.js, rotated copies included, within 1e-5', async () => {
    const img = syntheticPart(300, 4);
    const specs = [{ angle: 0 }, { angle: 1.1 }, { angle: -2.5 }];
    const cfg = { size: 224, scales: 3 };
    const viaTf = await TFJS_ENGINE.copyRows(bb, cfg, img, specs, 2);
    expect(bb.host).toBeNull();
    const viaHost = await wasm.copyRows(bb, cfg, img, specs, 2);
    expect(bb.host).not.toBeNull();
    expect(rel(viaHost, viaTf)).toBeLessThan(1e-5);
    // The same numbers the differentiable path computes, which defect maps use.
    const x = tf.tidy(() => toUnitRgb(img, 224).expandDims(0) as tf.Tensor4D);
    const direct = tf.tidy(() => multiScaleFeatures(bb, x, cfg).dataSync() as Float32Array);
    expect(rel(viaHost.subarray(0, direct.length), direct)).toBeLessThan(1e-5);
    x.dispose();
  });

  it('refuse an image of the wrong size or too small for the network', async () => {
    const host = await HostBackbone.create(bb.plan, { helpers: 0 }, 64);
    await expect(host.pooled(new Float32Array(10), 64)).rejects.toThrow(/64x64 RGB image/);
    // 8 px: SqueezeNet's last pool would have nothing to pool (TF.js fails there too, not with NaN).
    await expect(host.pooled(new Float32Array(8 * 8 * 3), 8)).rejects.toThrow(/too small/);
    host.dispose();
    await expect(host.pooled(new Float32Array(64 * 64 * 3), 64)).rejects.toThrow(/released/);
  });

  it('disposed while growing its memory, ends released and does not come back', async () => {
    const host = await HostBackbone.create(bb.plan, { helpers: 1, spawn: nodeThreadSpawner }, 64);
    const growing = host.pooled(new Float32Array(448 * 448 * 3), 448);
    host.dispose();
    await expect(growing).rejects.toThrow(/released/);
    expect(host.released).toBe(true);
  });

  it('share one compiled forward pass between backbones with the same weights, until the last is disposed', async () => {
    const create = vi.spyOn(HostBackbone, 'create');
    // AlexNet: no other backbone of this file holds a share of its weights in `wasm` yet.
    const [a, b] = [nets[1].load(), nets[1].load()];
    const img = syntheticPart(96, 2);
    const cfg = { size: 96, scales: 1 };
    const rowA = await wasm.copyRows(a, cfg, img, [{ angle: 0 }]);
    const rowB = await wasm.copyRows(b, cfg, img, [{ angle: 0 }]);
    expect(create).toHaveBeenCalledTimes(1);
    expect(Array.from(rowB)).toEqual(Array.from(rowA));
    const hostB = b.host!;
    a.dispose();
    expect(hostB.released).toBe(false);
    expect(Array.from(await wasm.copyRows(b, cfg, img, [{ angle: 0 }]))).toEqual(Array.from(rowA));
    b.dispose();
    expect(hostB.released).toBe(true);
    create.mockRestore();
  });

  it('are released with their backbone', async () => {
    const other = nets[0].load();
    await wasm.copyRows(other, { size: 64, scales: 1 }, syntheticPart(64, 1), [{ angle: 0 }]);
    const host = other.host!;
    expect(host.released).toBe(false);
    other.dispose();
    expect(host.released).toBe(true);
    expect(other.host).toBeNull();
  });
});
