import type { BackboneId, InputConvention } from './types';

/*
 * A backbone as data: the layers of torchvision's `features` with their weights, which two executors run —
 * TF.js ops (tfBackbone.ts: differentiable, for defect maps) and the engine's own WebAssembly kernels
 * (wasm/hostBackbone.ts: forward only, for feature rows: SqueezeNet's 1.7x faster here). TF-free.
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

export type PlanStep =
  | { op: 'conv'; conv: PlanConv }
  /** MaxPool2d(3, 2), ceil_mode as given. */
  | { op: 'pool'; ceil: boolean }
  /** SqueezeNet's Fire: squeeze, then both expands of its output concatenated by channel (1x1 first). */
  | { op: 'fire'; squeeze: PlanConv; expand1x1: PlanConv; expand3x3: PlanConv };

export interface BackbonePlan {
  id: BackboneId;
  /** Channels of the last feature map. */
  featureWidth: number;
  input: InputConvention;
  /** Starts with a convolution of the normalised RGB image (the stem). */
  steps: PlanStep[];
}

export function convOut(n: number, c: PlanConv): number {
  return Math.floor((n + 2 * c.pad - c.shape[2]) / c.stride) + 1;
}

/** Output side of MaxPool2d(3, 2): in ceil mode PyTorch keeps a last window that starts inside the input. */
export function poolOut(n: number, ceil: boolean): number {
  if (!ceil) return Math.floor((n - 3) / 2) + 1;
  let out = Math.ceil((n - 3) / 2) + 1;
  if ((out - 1) * 2 >= n) out -= 1;
  return out;
}

export interface StepShape {
  side: number;
  channels: number;
}

/** The side and channels after each step for a square input of `side` pixels. */
export function planShapes(plan: BackbonePlan, side: number): StepShape[] {
  let cur: StepShape = { side, channels: 3 };
  return plan.steps.map((s) => {
    if (s.op === 'conv') cur = { side: convOut(cur.side, s.conv), channels: s.conv.shape[0] };
    else if (s.op === 'pool') cur = { side: poolOut(cur.side, s.ceil), channels: cur.channels };
    else cur = { side: convOut(cur.side, s.expand1x1), channels: s.expand1x1.shape[0] + s.expand3x3.shape[0] };
    if (cur.side < 1) throw new Error(`a ${side} px image is too small for ${plan.id}`);
    return cur;
  });
}
