import * as tf from '@tensorflow/tfjs';
import type { StateDict } from '../torch/types';
import { FrozenConv, maxPool3s2 } from './ops';
import { poolOut, type BackbonePlan, type PlanConv } from './plan';
import { NormalisingStem } from './stem';
import type { Backbone, HostForward } from './types';
import { hashTensors } from './weights';

/**
 * MaxPool2d(3, 2, ceil_mode=True). Every pool here follows a ReLU, so zero padding on the bottom/right
 * cannot change a maximum and reproduces PyTorch's partial last window.
 */
function maxPoolCeil(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  const extra = (n: number) => Math.max(0, (poolOut(n, true) - 1) * 2 + 3 - n);
  const ph = extra(h);
  const pw = extra(w);
  const padded = ph || pw ? tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]]) : x;
  return maxPool3s2(padded);
}

type Layer = (x: tf.Tensor4D) => tf.Tensor4D;

/** The plan as TF.js ops: the differentiable backbone (defect maps take gradients through it). */
export function tfBackbone(plan: BackbonePlan): Backbone {
  const owned: { dispose(): void }[] = [];
  const conv = (c: PlanConv): FrozenConv => {
    const f = new FrozenConv({ shape: c.shape, data: c.weight }, c.bias, c.stride, c.pad);
    owned.push(f);
    return f;
  };
  const layers: Layer[] = plan.steps.map((s, i): Layer => {
    if (s.op === 'conv' && i === 0) {
      const stem = new NormalisingStem({ shape: s.conv.shape, data: s.conv.weight }, s.conv.bias, s.conv.stride, s.conv.pad, plan.input);
      owned.push(stem);
      return (x) => stem.apply(x);
    }
    if (i === 0) throw new Error(`${plan.id}: a backbone starts with a convolution`);
    if (s.op === 'conv') {
      const c = conv(s.conv);
      return (x) => c.apply(x);
    }
    if (s.op === 'pool') return s.ceil ? maxPoolCeil : maxPool3s2;
    const [sq, e1, e3] = [conv(s.squeeze), conv(s.expand1x1), conv(s.expand3x3)];
    return (x) => {
      const h = sq.apply(x);
      return tf.concat([e1.apply(h), e3.apply(h)], 3);
    };
  });
  const kept = planStateDict(plan);
  const weightsHash = hashTensors(kept);
  let host: HostForward | null = null;
  let disposed = false;
  return {
    id: plan.id,
    featureWidth: plan.featureWidth,
    input: plan.input,
    weightsHash,
    plan,
    get host() {
      return host;
    },
    set host(h: HostForward | null) {
      // A host compiled while this backbone was being disposed would keep its helper threads alive.
      if (disposed) h?.dispose();
      else host = h;
    },
    apply(x) {
      return tf.tidy(() => layers.reduce((h, layer) => layer(h), x));
    },
    stateDict: () => kept,
    dispose() {
      disposed = true;
      for (const o of owned) o.dispose();
      host?.dispose();
      host = null;
    },
  };
}

/** The plan's tensors under torchvision's names. */
function planStateDict(plan: BackbonePlan): StateDict {
  const sd: StateDict = new Map();
  const add = (c: PlanConv) => {
    sd.set(`${c.name}.weight`, { shape: [...c.shape], data: c.weight });
    sd.set(`${c.name}.bias`, { shape: [c.shape[0]], data: c.bias });
  };
  for (const s of plan.steps) {
    if (s.op === 'conv') add(s.conv);
    else if (s.op === 'fire') [s.squeeze, s.expand1x1, s.expand3x3].forEach(add);
  }
  return sd;
}
