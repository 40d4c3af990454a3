import type * as tf from '@tensorflow/tfjs';
import type { Backbone } from '../backbones/types';
import type { CopySpec } from '../features/copies';
import type { FeatureConfig } from '../features/extractor';
import type { Flow } from '../flow/flow';
import type { RgbaImage } from '../image';

export type FeatureEngineName = 'wasm' | 'tfjs';

/** What a model runs: its backbone, its flow, and the features it was trained on. */
export interface ScoredModel {
  backbone: Backbone;
  flow: Flow;
  features: FeatureConfig;
}

export interface CopyGradients {
  /** [copies, size, size, 3]: each copy's loss differentiated with respect to its normalised input. */
  grad: tf.Tensor4D;
  /** Sum over the copies of mean z^2, as score() computes it from the same feature rows. */
  zsq: number;
}

/**
 * Where the CNN half of DifferNet runs: the pooled feature rows of an image's transformed copies (scores,
 * thresholds and the training bank all take their rows from here), and the input gradients defect maps are
 * made of. Two implementations: TF.js's ops (tfjsEngine.ts), and the WebAssembly kernels (wasmEngine.ts),
 * which hold the same numbers to float32 rounding (features/engines.test.ts). An ExecutionPlan picks one.
 */
export interface FeatureEngine {
  readonly name: FeatureEngineName;
  /**
   * Features of transformed copies of one image, row j for specs[j]; `chunk` copies at a time through TF.js.
   * `maxThreads`: at most this many threads for this call's host kernels (TF.js keeps its own pool).
   */
  copyRows(backbone: Backbone, cfg: FeatureConfig, img: RgbaImage, specs: readonly CopySpec[], chunk?: number, maxThreads?: number): Promise<Float32Array>;
  /** The gradients of the copies of `base` ([1, size, size, 3] in [0, 1]) turned by `angles`, and their summed mean z^2; `maxThreads` as for copyRows. */
  copyGradients(m: ScoredModel, base: tf.Tensor4D, angles: readonly number[], maxThreads?: number): Promise<CopyGradients>;
  /** Bytes this engine holds for the backbone outside TF.js's tensors (the kernels' weights and activations); 0 where none. */
  bytesFor(backbone: Backbone): number;
}
