import * as tf from '@tensorflow/tfjs';
import type { StateDict } from '../torch/types';
import { FrozenConv, maxPool3s2 } from './ops';
import { planConvs, poolOut, resolveTaps, type BackbonePlan, type BranchStep, type PlanConv, type PlanPool } from './plan';
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

/** Caffe's LRN across channels, as TF.js's op: its alpha multiplies the plain sum, Caffe's the mean. */
function lrn(size: number, alpha: number, beta: number, k: number): Layer {
  return (x) => tf.localResponseNormalization(x, (size - 1) / 2, k, alpha / size, beta);
}

/**
 * The stride-1 inception pool with one pixel of padding: TF's 'same' max pool ignores padded cells, as
 * Caffe's padded max pool does.
 */
const maxPoolSame: Layer = (x) => tf.maxPool(x, 3, 1, 'same');

/** The plan as TF.js ops: the differentiable backbone (defect maps take gradients through it). */
export function tfBackbone(plan: BackbonePlan): Backbone {
  const owned: { dispose(): void }[] = [];
  const conv = (c: PlanConv): FrozenConv => {
    const f = new FrozenConv({ shape: c.shape, data: c.weight }, c.bias, c.stride, c.pad);
    owned.push(f);
    return f;
  };
  const pool = (s: PlanPool): Layer => (s.stride === 1 ? maxPoolSame : s.ceil ? maxPoolCeil : maxPool3s2);
  const branchLayer = (s: BranchStep): Layer => {
    if (s.op === 'pool') return pool(s);
    const c = conv(s.conv);
    return (x) => c.apply(x);
  };
  const layers: Layer[] = plan.steps.map((s, i): Layer => {
    if (s.op === 'conv' && i === 0) {
      const stem = new NormalisingStem({ shape: s.conv.shape, data: s.conv.weight }, s.conv.bias, s.conv.stride, s.conv.pad, plan.input);
      owned.push(stem);
      return (x) => stem.apply(x);
    }
    if (i === 0) throw new Error(`${plan.id}: a backbone starts with a convolution`);
    if (s.op === 'conv') return branchLayer(s);
    if (s.op === 'pool') return pool(s);
    if (s.op === 'lrn') return lrn(s.size, s.alpha, s.beta, s.k);
    if (s.op === 'inception') {
      const branches = s.branches.map((b) => b.map(branchLayer));
      return (x) => tf.concat(branches.map((b) => b.reduce((h, layer) => layer(h), x)), 3);
    }
    const [sq, e1, e3] = [conv(s.squeeze), conv(s.expand1x1), conv(s.expand3x3)];
    return (x) => {
      const h = sq.apply(x);
      return tf.concat([e1.apply(h), e3.apply(h)], 3);
    };
  });
  const run = (x: tf.Tensor4D, names: readonly string[]): tf.Tensor4D[] => {
    const taps = resolveTaps(plan, names);
    const last = taps[taps.length - 1].step;
    return tf.tidy(() => {
      const out: tf.Tensor4D[] = [];
      let h = x;
      for (let i = 0; i <= last; i++) {
        h = layers[i](h);
        if (taps.some((t) => t.step === i)) out.push(h);
      }
      return out;
    });
  };
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
      const maps = run(x, plan.defaultTaps);
      const last = maps.pop()!;
      tf.dispose(maps);
      return last;
    },
    taps: run,
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
  for (const c of planConvs(plan)) add(c);
  return sd;
}
