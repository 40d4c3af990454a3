import * as tf from '@tensorflow/tfjs';
import type { StateDict } from '../torch/types';
import { FrozenConv, maxPool3s2 } from './ops';
import { NormalisingStem } from './stem';
import { IMAGENET, type Backbone } from './types';
import { backboneTensors, expectTensor, hashTensors } from './weights';

interface Fire {
  index: number;
  squeeze: FrozenConv;
  expand1x1: FrozenConv;
  expand3x3: FrozenConv;
}

// torchvision.models.squeezenet1_1().features: Fire(in, squeeze, e1x1, e3x3) at these indices.
const FIRES: [number, number, number, number, number][] = [
  [3, 64, 16, 64, 64],
  [4, 128, 16, 64, 64],
  [6, 128, 32, 128, 128],
  [7, 256, 32, 128, 128],
  [9, 256, 48, 192, 192],
  [10, 384, 48, 192, 192],
  [11, 384, 64, 256, 256],
  [12, 512, 64, 256, 256],
];
const POOL_AFTER = new Set([0, 4, 7]);

/**
 * MaxPool2d(3, 2, ceil_mode=True). Every pool here follows a ReLU, so zero padding on the bottom/right
 * cannot change a maximum and reproduces PyTorch's partial last window.
 */
function maxPoolCeil(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  const extra = (n: number) => {
    let out = Math.ceil((n - 3) / 2) + 1;
    if ((out - 1) * 2 >= n) out -= 1; // PyTorch drops a last window that would start in the padding
    return Math.max(0, (out - 1) * 2 + 3 - n);
  };
  const ph = extra(h);
  const pw = extra(w);
  const padded = ph || pw ? tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]]) : x;
  return maxPool3s2(padded);
}

export function squeezenet1_1(stateDict: StateDict): Backbone {
  const sd = backboneTensors(stateDict);
  const kept: StateDict = new Map();
  const layer = (name: string, shape: [number, number, number, number]) => {
    const w = expectTensor(sd, `${name}.weight`, shape, 'SqueezeNet 1.1');
    const b = expectTensor(sd, `${name}.bias`, [shape[0]], 'SqueezeNet 1.1');
    kept.set(`${name}.weight`, w);
    kept.set(`${name}.bias`, b);
    return { w, b: b.data };
  };
  const conv = (name: string, shape: [number, number, number, number], pad = 0): FrozenConv => {
    const { w, b } = layer(name, shape);
    return new FrozenConv(w, b, 1, pad);
  };
  const first = layer('features.0', [64, 3, 3, 3]);
  const stem = new NormalisingStem(first.w, first.b, 2, 0, IMAGENET);
  const fires: Fire[] = FIRES.map(([index, inC, sq, e1, e3]) => ({
    index,
    squeeze: conv(`features.${index}.squeeze`, [sq, inC, 1, 1]),
    expand1x1: conv(`features.${index}.expand1x1`, [e1, sq, 1, 1]),
    expand3x3: conv(`features.${index}.expand3x3`, [e3, sq, 3, 3], 1),
  }));
  const weightsHash = hashTensors(kept);

  return {
    id: 'squeezenet1_1',
    featureWidth: 512,
    input: IMAGENET,
    weightsHash,
    apply(x) {
      return tf.tidy(() => {
        let h = maxPoolCeil(stem.apply(x));
        for (const f of fires) {
          const s = f.squeeze.apply(h);
          h = tf.concat([f.expand1x1.apply(s), f.expand3x3.apply(s)], 3);
          if (POOL_AFTER.has(f.index)) h = maxPoolCeil(h);
        }
        return h;
      });
    },
    stateDict: () => kept,
    dispose() {
      stem.dispose();
      for (const c of fires.flatMap((f) => [f.squeeze, f.expand1x1, f.expand3x3])) c.dispose();
    },
  };
}
