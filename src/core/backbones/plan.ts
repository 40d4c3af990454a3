import { BACKBONE_LABEL, type BackboneId, type InputConvention } from './types';

/*
 * A backbone as data: the layers of torchvision's `features` with their weights, which two executors run —
 * TF.js ops (tfBackbone.ts: differentiable by autodiff; WebGPU's and the fallback's) and the engine's own
 * WebAssembly kernels (backbones/hostBackbone.ts: feature rows, and the input gradient for defect maps). TF-free.
 */

/** A convolution followed by a ReLU (every convolution of both networks is). Weights in PyTorch layout. */
export interface PlanConv {
  name: string;
  /** [out, in, k, k] */
  shape: [number, number, number, number];
  weight: Float32Array;
  bias: Float32Array;
  stride: number;
  pad: number;
}

/**
 * MaxPool2d with a 3x3 window: stride 2 without padding (ceil_mode as given), or stride 1 with one pixel of
 * padding that never wins (GoogLeNet's inception pool; Caffe's padded max pool ignores the padding).
 */
export interface PlanPool {
  op: 'pool';
  ceil: boolean;
  stride?: 2 | 1;
}

/** A step inside an inception branch. */
export type BranchStep = { op: 'conv'; conv: PlanConv } | PlanPool;

/** `tap` names a step's output whose channel means can be features (see planTaps). */
export type PlanStep = (
  | { op: 'conv'; conv: PlanConv }
  | PlanPool
  /** SqueezeNet's Fire: squeeze, then both expands of its output concatenated by channel (1x1 first). */
  | { op: 'fire'; squeeze: PlanConv; expand1x1: PlanConv; expand3x3: PlanConv }
  /** Caffe's LRN across channels: x / (k + alpha / size * sum of x^2 over `size` neighbouring channels)^beta. */
  | { op: 'lrn'; size: number; alpha: number; beta: number; k: number }
  /** GoogLeNet's inception: each branch runs on the step's input, outputs concatenated by channel in order. */
  | { op: 'inception'; branches: BranchStep[][] }
) & { tap?: string };

export interface BackbonePlan {
  id: BackboneId;
  /** Channels of the default taps together (the features per scale of a model that names no taps). */
  featureWidth: number;
  input: InputConvention;
  /** Starts with a convolution of the normalised RGB image (the stem). */
  steps: PlanStep[];
  /** The taps a model pools when its settings name none: the paper's last layer for AlexNet and SqueezeNet. */
  defaultTaps: string[];
}

export interface PlanTap {
  name: string;
  /** Index of the step whose output it is. */
  step: number;
  channels: number;
}

export function convOut(n: number, c: PlanConv): number {
  return Math.floor((n + 2 * c.pad - c.shape[2]) / c.stride) + 1;
}

/** Output side of a plan's pool: in ceil mode PyTorch keeps a last window that starts inside the input. */
export function poolOut(n: number, ceil: boolean, stride: 2 | 1 = 2): number {
  if (stride === 1) return n;
  if (!ceil) return Math.floor((n - 3) / 2) + 1;
  let out = Math.ceil((n - 3) / 2) + 1;
  if ((out - 1) * 2 >= n) out -= 1;
  return out;
}

export interface StepShape {
  side: number;
  channels: number;
}

function branchOut(steps: BranchStep[], cur: StepShape): StepShape {
  return steps.reduce(
    (c, s) => (s.op === 'conv' ? { side: convOut(c.side, s.conv), channels: s.conv.shape[0] } : { side: poolOut(c.side, s.ceil, s.stride), channels: c.channels }),
    cur,
  );
}

/** The side and channels after each step for a square input of `side` pixels. */
export function planShapes(plan: BackbonePlan, side: number): StepShape[] {
  let cur: StepShape = { side, channels: 3 };
  return plan.steps.map((s) => {
    if (s.op === 'conv') cur = { side: convOut(cur.side, s.conv), channels: s.conv.shape[0] };
    else if (s.op === 'pool') cur = { side: poolOut(cur.side, s.ceil, s.stride), channels: cur.channels };
    else if (s.op === 'fire') cur = { side: convOut(cur.side, s.expand1x1), channels: s.expand1x1.shape[0] + s.expand3x3.shape[0] };
    else if (s.op === 'inception') {
      const outs = s.branches.map((b) => branchOut(b, cur));
      cur = { side: outs[0].side, channels: outs.reduce((a, o) => a + o.channels, 0) };
    }
    if (cur.side < 1) throw new Error(`a ${side} px image is too small for ${plan.id}`);
    return cur;
  });
}

/**
 * Throws one sentence where the smallest of a model's scales (size / 2^(scales - 1) px) is too small for the
 * plan: a layer would have no pixels, which the kernels (TF.js's and ours) would otherwise meet as an error of
 * memory, not of settings. AlexNet needs about 63 px, so a working size of 224 allows it 2 scales, not 3.
 */
export function checkScaleSides(plan: BackbonePlan, size: number, scales: number): void {
  const side = Math.floor(size / 2 ** (scales - 1));
  try {
    planShapes(plan, side);
  } catch {
    throw new Error(
      `a working size of ${size} px with ${scales} scale${scales === 1 ? '' : 's'} makes a ${side} px image, too small for ${BACKBONE_LABEL[plan.id]}: its deepest layers would have no pixels. Use a larger working size or fewer scales.`,
    );
  }
}

/** The convolutions of a plan, in the order they run. */
export function planConvs(plan: BackbonePlan): PlanConv[] {
  return plan.steps.flatMap((s) => {
    if (s.op === 'conv') return [s.conv];
    if (s.op === 'fire') return [s.squeeze, s.expand1x1, s.expand3x3];
    if (s.op === 'inception') return s.branches.flatMap((b) => b.flatMap((t) => (t.op === 'conv' ? [t.conv] : [])));
    return [];
  });
}

/** Every named output of the plan, in network order. Channel counts do not depend on the input's side. */
export function planTaps(plan: BackbonePlan): PlanTap[] {
  const shapes = planShapes(plan, 1024);
  return plan.steps.flatMap((s, i) => (s.tap ? [{ name: s.tap, step: i, channels: shapes[i].channels }] : []));
}

/**
 * The taps a model pools, in network order (its settings' list, else the plan's default), checked against the
 * plan: a name it does not have is an error that lists the ones it has.
 */
export function resolveTaps(plan: BackbonePlan, names?: readonly string[]): PlanTap[] {
  const all = planTaps(plan);
  const want = names && names.length ? names : plan.defaultTaps;
  const picked = want.map((n) => {
    const t = all.find((a) => a.name === n);
    if (!t) throw new Error(`${plan.id} has no feature tap "${n}"; its taps are ${all.map((a) => a.name).join(', ')}`);
    return t;
  });
  for (let i = 1; i < picked.length; i++) {
    if (picked[i].step <= picked[i - 1].step) throw new Error(`feature taps must be distinct and in network order: ${want.join(', ')}`);
  }
  return picked;
}

/** Features per scale for these taps. */
export function tapWidth(taps: readonly PlanTap[]): number {
  return taps.reduce((a, t) => a + t.channels, 0);
}
