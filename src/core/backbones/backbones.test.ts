import { beforeAll, describe, expect, it } from 'vitest';
import { createBackbone, isBackboneKey, WeightsError } from '.';
import { featureDim, multiScaleFeatures } from '../features/extractor';
import { toUnitRgb } from '../features/preprocess';
import { readReference, readShared } from '../../../test/support/shared';
import { referenceImage } from '../../../test/support/images';
import { leakedTensors, maxAbsDiff, setupTf, tf } from '../../../test/support/tf';
import { readPth } from '../torch';
import type { Backbone } from './types';

beforeAll(setupTf);

const ref = readReference();

async function features(bb: Backbone): Promise<Float32Array> {
  const x = tf.tidy(() => toUnitRgb(referenceImage(), 448).expandDims(0) as tf.Tensor4D);
  const f = multiScaleFeatures(bb, x, { size: 448, scales: 3 });
  const out = (await f.data()) as Float32Array;
  x.dispose();
  f.dispose();
  return out;
}

/** Parity tolerance: 1e-4 relative to the feature vector's scale (max |reference|). */
function expectParity(got: Float32Array, want: number[]) {
  expect(got.length).toBe(want.length);
  const scale = Math.max(...want.map(Math.abs));
  expect(maxAbsDiff(got, want) / scale).toBeLessThan(1e-4);
}

describe('backbone features match PyTorch', () => {
  for (const file of ['alexnet-features-random.legacy.pth', 'alexnet-features-random.zip.pth']) {
    it(`AlexNet from ${file}`, async () => {
      const bb = createBackbone(readPth(readShared('reference', file), { include: isBackboneKey }));
      expect(bb.id).toBe('alexnet');
      expect(bb.featureWidth).toBe(256);
      expectParity(await features(bb), ref.alexnet_random.gap_multiscale);
      bb.dispose();
    });
  }

  it('SqueezeNet 1.1 (ImageNet weights)', async () => {
    const bb = createBackbone(readPth(readShared('weights', 'squeezenet1_1-imagenet.pth'), { include: isBackboneKey }));
    expect(bb.id).toBe('squeezenet1_1');
    expect(bb.featureWidth).toBe(512);
    expectParity(await features(bb), ref.squeezenet1_1_imagenet.gap_multiscale);
    bb.dispose();
  });

  it('feature maps have the reference shapes', () => {
    const bb = createBackbone(readPth(readShared('reference', 'alexnet-features-random.zip.pth')));
    for (const [i, side] of [448, 224, 112].entries()) {
      const shape = tf.tidy(() => bb.apply(tf.zeros([1, side, side, 3])).shape);
      const [c, h, w] = ref.alexnet_random.feature_map_shapes[i];
      expect(shape).toEqual([1, h, w, c]);
    }
    bb.dispose();
  });

  it('feature extraction leaks no tensors', async () => {
    const bb = createBackbone(readPth(readShared('weights', 'squeezenet1_1-imagenet.pth')));
    await features(bb); // first run may allocate backend caches
    expect(await leakedTensors(() => features(bb))).toBe(0);
    bb.dispose();
  });
});

describe('wrong weights are refused clearly', () => {
  it('a state_dict without backbone keys names what was expected', () => {
    const sd = new Map([['classifier.1.weight', { shape: [2, 2], data: new Float32Array(4) }]]);
    expect(() => createBackbone(sd)).toThrow(/features\.\*/);
  });

  it('AlexNet weights forced into SqueezeNet name the missing tensor', () => {
    const sd = readPth(readShared('reference', 'alexnet-features-random.zip.pth'));
    expect(() => createBackbone(sd, 'squeezenet1_1')).toThrow(WeightsError);
    expect(() => createBackbone(sd, 'squeezenet1_1')).toThrow(/SqueezeNet.*features\.0\.weight.*shape/);
  });

  it('a wrong shape is named with both shapes', () => {
    const sd = readPth(readShared('reference', 'alexnet-features-random.zip.pth'));
    const w = sd.get('features.3.weight')!;
    sd.set('features.3.weight', { shape: [192, 64, 3, 3], data: w.data.subarray(0, 192 * 64 * 9) });
    expect(() => createBackbone(sd, 'alexnet')).toThrow(/features\.3\.weight has shape \[192, 64, 3, 3\], expected \[192, 64, 5, 5\]/);
  });
});

describe('a working size too small for its scales', () => {
  it('is one sentence that names the sizes and the backbone, before any kernel runs', () => {
    const alexnet = createBackbone(readPth(readShared('reference', 'differnet-reference-small.pth')));
    // 224 / 4 = 56 px: AlexNet's last pool would have no pixels. 448 px with 3 scales (112 px) is the paper's.
    expect(() => featureDim(alexnet, { size: 224, scales: 3 })).toThrow(/^a working size of 224 px with 3 scales makes a 56 px image, too small for AlexNet: .*fewer scales\.$/);
    expect(featureDim(alexnet, { size: 224, scales: 2 })).toBe(512);
    expect(featureDim(alexnet, { size: 448, scales: 3 })).toBe(768);
    alexnet.dispose();
  });
});
