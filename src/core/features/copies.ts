import * as tf from '@tensorflow/tfjs';
import type { Backbone } from '../backbones/types';
import type { RgbaImage } from '../image';
import { featureDim, multiScaleFeatures, scaleWidth, type FeatureConfig } from './extractor';
import { hostForward } from './hostForward';
import { jitter, rotate, toUnitRgb, type ColourJitter } from './preprocess';
import { downsampleNearestRgb } from '../resample';

/** One transformed copy of an image: a rotation and optional colour jitter. */
export interface CopySpec {
  angle: number;
  jitter?: ColourJitter;
}

/** Transforms of an already resized batch [1, S, S, 3] in [0, 1], for the given copies. */
export function transformCopies(base: tf.Tensor4D, specs: CopySpec[]): tf.Tensor4D {
  return tf.tidy(() =>
    tf.concat(
      specs.map((s) => {
        const r = rotate(base, s.angle);
        return s.jitter ? jitter(r, s.jitter) : r;
      }),
      0,
    ),
  );
}

/**
 * Features of transformed copies of one image, row j for specs[j]. The one path by which training,
 * scoring and the CLI's worker threads turn an image into feature rows.
 */
export async function copyFeatures(backbone: Backbone, cfg: FeatureConfig, img: RgbaImage, specs: CopySpec[], chunk = 8): Promise<Float32Array> {
  const dim = featureDim(backbone, cfg);
  const width = scaleWidth(backbone, cfg);
  const out = new Float32Array(specs.length * dim);
  const host = await hostForward(backbone, cfg.size);
  const base = tf.tidy(() => toUnitRgb(img, cfg.size).expandDims(0) as tf.Tensor4D);
  try {
    for (let i = 0; i < specs.length; i += chunk) {
      if (host) {
        // The transforms stay TF.js ops (the pixels of the differentiable path); the scales and the CNN
        // run on the host, image by image.
        const batch = transformCopies(base, specs.slice(i, i + chunk));
        const px = (await batch.data()) as Float32Array;
        batch.dispose();
        const n = cfg.size * cfg.size * 3;
        for (let j = 0; j * n < px.length; j++) {
          const full = px.subarray(j * n, (j + 1) * n);
          for (let s = 0; s < cfg.scales; s++) {
            const side = Math.floor(cfg.size / 2 ** s);
            out.set(await host.pooled(downsampleNearestRgb(full, cfg.size, side), side, cfg.taps), (i + j) * dim + s * width);
          }
        }
        continue;
      }
      const f = tf.tidy(() => multiScaleFeatures(backbone, transformCopies(base, specs.slice(i, i + chunk)), cfg));
      out.set(await f.data(), i * dim);
      f.dispose();
    }
  } finally {
    base.dispose();
  }
  return out;
}
