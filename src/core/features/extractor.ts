import * as tf from '@tensorflow/tfjs';
import { checkScaleSides, resolveTaps, tapWidth } from '../backbones/plan';
import type { Backbone } from '../backbones/types';
import { downsampleNearest } from './preprocess';

export interface FeatureConfig {
  /** Side of the square working image, 448 in the paper. */
  size: number;
  /** Number of scales: size, size/2, size/4, ... */
  scales: number;
  /**
   * The backbone outputs pooled at each scale, in network order (plan.ts: planTaps). Absent: the backbone's
   * default (the paper's last layer for AlexNet and SqueezeNet, as in every model file written before taps).
   */
  taps?: string[];
}

export const PAPER_FEATURES: FeatureConfig = { size: 448, scales: 3 };

/** Features per scale: the channels of the taps pooled. */
export function scaleWidth(backbone: Backbone, cfg: FeatureConfig): number {
  return tapWidth(resolveTaps(backbone.plan, cfg.taps));
}

export function featureDim(backbone: Backbone, cfg: FeatureConfig): number {
  // Every path asks for the width before it computes a feature (training, scoring, maps, loading a model).
  checkScaleSides(backbone.plan, cfg.size, cfg.scales);
  return scaleWidth(backbone, cfg) * cfg.scales;
}

/**
 * RGB in [0, 1] (NHWC, working size) -> [N, scales * width]: per scale the channel-wise global average
 * of each tap's feature map, taps in network order, scales concatenated from the largest. Differentiable in `rgb`.
 */
export function multiScaleFeatures(backbone: Backbone, rgb: tf.Tensor4D, cfg: FeatureConfig): tf.Tensor2D {
  return tf.tidy(() => {
    const parts: tf.Tensor2D[] = [];
    for (let s = 0; s < cfg.scales; s++) {
      const side = Math.floor(cfg.size / 2 ** s);
      const taps = resolveTaps(backbone.plan, cfg.taps).map((t) => t.name);
      for (const fmap of backbone.taps(downsampleNearest(rgb, side), taps)) parts.push(tf.mean(fmap, [1, 2]) as tf.Tensor2D);
    }
    return tf.concat(parts, 1);
  });
}
