import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackbone, isBackboneKey, readBackboneWeights, type Backbone } from '.';
import { nodeThreadSpawner } from '../node/threads';
import { readPth } from '../torch';
import { seededRandom } from '../random';
import { readShared } from '../../../test/support/shared';
import { maxAbsDiff, setupTf, tf } from '../../../test/support/tf';
import { HostBackbone } from './hostBackbone';
import { resolveTaps, tapWidth } from './plan';

beforeAll(setupTf);

// The backbone's backward for data on the host kernels against TF.js's autodiff through the same plan
// (tfBackbone.ts), for a loss linear in the pooled taps: sum of r . pooled, with r random. Odd sides put
// windows over the edges (ceil-mode pools, clipped patches). Measured 4e-7 to 1.1e-6 of the largest value;
// bound 2e-5: float32 rounding of two summation orders, far below a wrong route (a tie sent to another
// pixel, a tap off by one) which moves whole pixels' gradients.
const nets: { name: string; load: () => Backbone; taps?: string[]; sides: number[] }[] = [
  { name: 'AlexNet (random)', load: () => createBackbone(readPth(readShared('reference', 'alexnet-features-random.legacy.pth'), { include: isBackboneKey })), sides: [67, 112] },
  { name: 'SqueezeNet 1.1 (ImageNet)', load: () => createBackbone(readPth(readShared('weights', 'squeezenet1_1-imagenet.pth'), { include: isBackboneKey })), sides: [67, 112] },
  {
    name: 'GoogLeNet (BVLC), four taps',
    load: () => createBackbone(readBackboneWeights(readShared('weights', 'bvlc_googlenet.caffemodel'))),
    taps: ['inception_3b', 'inception_4a', 'inception_4c', 'inception_4e'],
    sides: [99],
  },
];

function weightsFor(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

function relToMax(got: ArrayLike<number>, want: ArrayLike<number>): number {
  return maxAbsDiff(got, want) / Math.max(...Array.from(want, Math.abs));
}

for (const net of nets) {
  describe(`${net.name}: input gradient on the host kernels`, () => {
    let bb: Backbone;
    beforeAll(() => void (bb = net.load()));
    afterAll(() => bb.dispose());

    it(`equals TF.js's autodiff within 2e-5 of its largest value, at ${net.sides.join(' and ')} px together, on two threads`, async () => {
      const host = await HostBackbone.create(bb.plan, { helpers: 1, spawn: nodeThreadSpawner }, 64);
      const taps = resolveTaps(bb.plan, net.taps);
      const width = tapWidth(taps);
      const images = net.sides.map((side, s) => ({ side, rgb: Float32Array.from({ length: side * side * 3 }, (_, i) => (Math.sin(i * 0.37 + s) + 1) / 2) }));
      const r = net.sides.map((_, s) => weightsFor(width, s + 1));
      let pooledSeen: Float32Array[] = [];
      const got = await host.inputGradient(images, net.taps, (pooled) => {
        pooledSeen = pooled;
        return r;
      });
      for (const [s, { side, rgb }] of images.entries()) {
        const { mean, std } = bb.plan.input;
        // TF's gradient with respect to [0, 1] RGB, times std: with respect to the normalised input.
        const [want, pooled] = tf.tidy(() => {
          const x = tf.tensor4d(rgb, [1, side, side, 3]);
          const f = (t: tf.Tensor) => tf.concat(bb.taps(t as tf.Tensor4D, taps.map((t) => t.name)).map((m) => tf.mean(m, [1, 2])), 1);
          const loss = (t: tf.Tensor) => tf.sum(tf.mul(f(t), tf.tensor2d(r[s], [1, width]))) as tf.Scalar;
          return [tf.grad(loss)(x).mul(tf.tensor1d(std)).dataSync() as Float32Array, f(x).dataSync() as Float32Array];
        });
        expect(mean.length).toBe(3);
        expect(relToMax(pooledSeen[s], pooled)).toBeLessThan(1e-5);
        expect(relToMax(got[s], want), `${side} px`).toBeLessThan(2e-5);
      }
      expect(host.threads).toBe(2);
      // Limited to this thread (Live's verdicts beside a map): the same floats.
      const alone = await host.inputGradient(images, net.taps, () => r, 1);
      alone.forEach((g, s) => expect(Array.from(g), `${net.sides[s]} px on one thread`).toEqual(Array.from(got[s])));
      host.dispose();
    });
  });
}
