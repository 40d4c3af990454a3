import * as tf from '@tensorflow/tfjs';
import type { Backbone } from '../backbones/types';
import { downsampleNearest } from './preprocess';

export interface FeatureConfig {
  /** Side of the square working image, 448 in the paper. */
  size: number;
  /** Number of scales: size, size/2, size/4, ... */
  scales: number;
}

export const PAPER_FEATURES: FeatureConfig = { size: 448, scales: 3 };

export function featureDim(backbone: Backbone, cfg: FeatureConfig): number {
  return backbone.featureWidth * cfg.scales;
}

/**
 * RGB in [0, 1] (NHWC, working size) -> [N, scales * width]: per scale the channel-wise global average
 * of the backbone's last feature map, scales concatenated from the largest. Differentiable in `rgb`.
 */
export function multiScaleFeatures(backbone: Backbone, rgb: tf.Tensor4D, cfg: FeatureConfig): tf.Tensor2D {
  return tf.tidy(() => {
    const parts: tf.Tensor2D[] = [];
    for (let s = 0; s < cfg.scales; s++) {
      const side = Math.floor(cfg.size / 2 ** s);
      const fmap = backbone.apply(downsampleNearest(rgb, side));
      parts.push(tf.mean(fmap, [1, 2]) as tf.Tensor2D);
    }
    return tf.concat(parts, 1);
  });
}
