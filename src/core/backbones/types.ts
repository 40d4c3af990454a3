import type * as tf from '@tensorflow/tfjs';
import type { BackbonePlan } from './plan';

export type BackboneId = 'alexnet' | 'squeezenet1_1' | 'googlenet';

export const BACKBONE_IDS: readonly BackboneId[] = ['alexnet', 'squeezenet1_1', 'googlenet'];

/** Each backbone's name for people: the UI's and the engine's messages. */
export const BACKBONE_LABEL: Readonly<Record<BackboneId, string>> = { alexnet: 'AlexNet', squeezenet1_1: 'SqueezeNet 1.1', googlenet: 'GoogLeNet (BVLC)' };

/** How a backbone expects its input: RGB in [0,1], then (x - mean) / std per channel. */
export interface InputConvention {
  mean: [number, number, number];
  std: [number, number, number];
}

export const IMAGENET: InputConvention = {
  mean: [0.485, 0.456, 0.406],
  std: [0.229, 0.224, 0.225],
};

/** A frozen CNN feature extractor in NHWC layout. */
export interface Backbone {
  readonly id: BackboneId;
  /** Channels of the last feature map, i.e. the GAP feature width per scale. */
  readonly featureWidth: number;
  readonly input: InputConvention;
  /** Hex digest of the weights, so a model file can name the exact backbone it was trained on. */
  readonly weightsHash: string;
  /** RGB in [0, 1] (NHWC; `input` normalises it inside) -> the feature map of the last default tap (NHWC). Pure tf ops, so gradients flow through it. */
  apply(x: tf.Tensor4D): tf.Tensor4D;
  /** The feature maps of these taps (plan.ts: resolveTaps), computed no further than the deepest. Differentiable. */
  taps(x: tf.Tensor4D, taps: readonly string[]): tf.Tensor4D[];
  /** The layers and weights as data, which both executors run. */
  readonly plan: BackbonePlan;
  /**
   * The forward pass on the WebAssembly kernels, set by the WebAssembly feature engine (execution/wasmEngine.ts)
   * once it compiled one; that engine's rows and gradients then use it. One set after dispose() is released at once.
   */
  host: HostForward | null;
  /** The tensors holding the weights, in torchvision's names and layout, for saving into a model file. */
  stateDict(): Map<string, { shape: number[]; data: Float32Array }>;
  dispose(): void;
}

/** A backbone's forward pass outside TF.js (backbones/hostBackbone.ts). */
export interface HostForward {
  /**
   * One image [side, side, 3], RGB in [0, 1] -> the channel means of each tap's feature map, concatenated
   * (default: the plan's taps). `maxThreads`: at most this many of `threads` for this call.
   */
  pooled(rgb: Float32Array, side: number, taps?: readonly string[], maxThreads?: number): Promise<Float32Array>;
  /**
   * The gradient of a loss of the pooled taps with respect to the normalised input ((rgb - mean) / std) of
   * each scale of one image: `back` maps each scale's pooled taps to the loss's gradient with respect to them,
   * synchronously (backbones/hostBackbone.ts inputGradient). `maxThreads` as for pooled().
   */
  inputGradient(images: readonly { rgb: Float32Array; side: number }[], taps: readonly string[] | undefined, back: (pooled: Float32Array[]) => Float32Array[], maxThreads?: number): Promise<Float32Array[]>;
  /** Threads working on each image, this one included. */
  readonly threads: number;
  /** Bytes of memory the kernels hold (weights, activations, and the tape of activations once a gradient was asked for). */
  readonly bytes: number;
  /** Disposed, or broken (a helper thread failed): a new one has to be made. */
  readonly released: boolean;
  dispose(): void;
}
