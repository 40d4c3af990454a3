import type { StateDict } from '../torch/types';
import type { BackbonePlan, PlanConv, PlanStep } from './plan';
import { tfBackbone } from './tfBackbone';
import { IMAGENET, type Backbone } from './types';
import { backboneTensors, expectTensor } from './weights';

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

export function squeezenetPlan(stateDict: StateDict): BackbonePlan {
  const sd = backboneTensors(stateDict);
  const conv = (name: string, shape: [number, number, number, number], stride = 1, pad = 0): PlanConv => {
    const w = expectTensor(sd, `${name}.weight`, shape, 'SqueezeNet 1.1');
    const b = expectTensor(sd, `${name}.bias`, [shape[0]], 'SqueezeNet 1.1');
    return { name, shape, weight: w.data, bias: b.data, stride, pad };
  };
  // All pools are MaxPool2d(3, 2, ceil_mode=True).
  // Taps are named by the torchvision index of the module whose output they are.
  const steps: PlanStep[] = [
    { op: 'conv', conv: conv('features.0', [64, 3, 3, 3], 2), tap: 'features.1' },
    { op: 'pool', ceil: true, tap: 'features.2' },
  ];
  for (const [index, inC, sq, e1, e3] of FIRES) {
    steps.push({
      op: 'fire',
      squeeze: conv(`features.${index}.squeeze`, [sq, inC, 1, 1]),
      expand1x1: conv(`features.${index}.expand1x1`, [e1, sq, 1, 1]),
      expand3x3: conv(`features.${index}.expand3x3`, [e3, sq, 3, 3], 1, 1),
      tap: `features.${index}`,
    });
    if (POOL_AFTER.has(index)) steps.push({ op: 'pool', ceil: true, tap: `features.${index + 1}` });
  }
  return { id: 'squeezenet1_1', featureWidth: 512, input: IMAGENET, steps, defaultTaps: ['features.12'] };
}

export function squeezenet1_1(stateDict: StateDict): Backbone {
  return tfBackbone(squeezenetPlan(stateDict));
}
