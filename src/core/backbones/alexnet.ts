import type { StateDict } from '../torch/types';
import type { BackbonePlan, PlanStep } from './plan';
import { tfBackbone } from './tfBackbone';
import { IMAGENET, type Backbone } from './types';
import { backboneTensors, expectTensor } from './weights';

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

export function alexnetPlan(stateDict: StateDict): BackbonePlan {
  const sd = backboneTensors(stateDict);
  const steps: PlanStep[] = [];
  for (const spec of CONVS) {
    const name = `features.${spec.index}`;
    const w = expectTensor(sd, `${name}.weight`, spec.shape, 'AlexNet');
    const b = expectTensor(sd, `${name}.bias`, [spec.shape[0]], 'AlexNet');
    // Taps are named by the torchvision index of the module whose output they are (the ReLU, the pool).
    const conv = { name, shape: spec.shape, weight: w.data, bias: b.data, stride: spec.stride, pad: spec.pad };
    steps.push({ op: 'conv', conv, tap: `features.${spec.index + 1}` });
    if (POOL_AFTER.has(spec.index)) steps.push({ op: 'pool', ceil: false, tap: `features.${spec.index + 2}` });
  }
  return { id: 'alexnet', featureWidth: 256, input: IMAGENET, steps, defaultTaps: ['features.12'] };
}

export function alexnet(stateDict: StateDict): Backbone {
  return tfBackbone(alexnetPlan(stateDict));
}
