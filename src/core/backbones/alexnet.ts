import * as tf from '@tensorflow/tfjs';
import type { StateDict } from '../torch/types';
import { FrozenConv, maxPool3s2 } from './ops';
import { NormalisingStem } from './stem';
import { IMAGENET, type Backbone } from './types';
import { backboneTensors, expectTensor, hashTensors } from './weights';

interface ConvSpec {
  index: number;
  shape: [number, number, number, number];
  stride: number;
  pad: number;
}

// torchvision.models.alexnet().features; the maxpools (3/2) sit after convs 0, 3 and 10.
const CONVS: ConvSpec[] = [
  { index: 0, shape: [64, 3, 11, 11], stride: 4, pad: 2 },
  { index: 3, shape: [192, 64, 5, 5], stride: 1, pad: 2 },
  { index: 6, shape: [384, 192, 3, 3], stride: 1, pad: 1 },
  { index: 8, shape: [256, 384, 3, 3], stride: 1, pad: 1 },
  { index: 10, shape: [256, 256, 3, 3], stride: 1, pad: 1 },
];
const POOL_AFTER = new Set([0, 3, 10]);

export function alexnet(stateDict: StateDict): Backbone {
  const sd = backboneTensors(stateDict);
  const kept: StateDict = new Map();
  const layers = CONVS.map((spec) => {
    const w = expectTensor(sd, `features.${spec.index}.weight`, spec.shape, 'AlexNet');
    const b = expectTensor(sd, `features.${spec.index}.bias`, [spec.shape[0]], 'AlexNet');
    kept.set(`features.${spec.index}.weight`, w);
    kept.set(`features.${spec.index}.bias`, b);
    const conv = spec.index === 0 ? new NormalisingStem(w, b.data, spec.stride, spec.pad, IMAGENET) : new FrozenConv(w, b.data, spec.stride, spec.pad);
    return { spec, conv };
  });
  const weightsHash = hashTensors(kept);
  return {
    id: 'alexnet',
    featureWidth: 256,
    input: IMAGENET,
    weightsHash,
    apply(x) {
      return tf.tidy(() => {
        let h: tf.Tensor4D = x;
        for (const { spec, conv } of layers) {
          h = conv.apply(h);
          if (POOL_AFTER.has(spec.index)) h = maxPool3s2(h);
        }
        return h;
      });
    },
    stateDict: () => kept,
    dispose() {
      for (const l of layers) l.conv.dispose();
    },
  };
}
