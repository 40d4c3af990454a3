import * as tf from '@tensorflow/tfjs';
import type { Backbone } from '../backbones/types';
import { transformCopies, type CopySpec } from '../features/copies';
import { featureDim, multiScaleFeatures, type FeatureConfig } from '../features/extractor';
import { toUnitRgb } from '../features/preprocess';
import type { RgbaImage } from '../image';
import type { CopyGradients, FeatureEngine, ScoredModel } from './featureEngine';

/** Feature rows through TF.js's ops, `chunk` copies per batch (the path every backend can run, GPUs included). */
export async function tfjsCopyRows(backbone: Backbone, cfg: FeatureConfig, img: RgbaImage, specs: readonly CopySpec[], chunk = 8): Promise<Float32Array> {
  const dim = featureDim(backbone, cfg);
  const out = new Float32Array(specs.length * dim);
  const base = tf.tidy(() => toUnitRgb(img, cfg.size).expandDims(0) as tf.Tensor4D);
  try {
    for (let i = 0; i < specs.length; i += chunk) {
      const f = tf.tidy(() => multiScaleFeatures(backbone, transformCopies(base, specs.slice(i, i + chunk)), cfg));
      out.set(await f.data(), i * dim);
      f.dispose();
    }
  } finally {
    base.dispose();
  }
  return out;
}

/** The copies' gradients by TF.js's autodiff through the backbone and the flow, and their summed mean z^2. */
export async function tfjsCopyGradients(m: ScoredModel, base: tf.Tensor4D, angles: readonly number[]): Promise<CopyGradients> {
  let zsq: tf.Scalar | undefined;
  const grad = tf.tidy(() => {
    const x = transformCopies(base, angles.map((angle) => ({ angle })));
    // Per-copy loss summed, so each copy's gradient is its own loss's; d/d(normalised) = d/d(rgb) * std.
    const lossOf = (input: tf.Tensor) => {
      const { z, logDet } = m.flow.forward(multiScaleFeatures(m.backbone, input as tf.Tensor4D, m.features));
      // Kept past the gradient's own tidy so the score comes from the same forward pass.
      zsq = tf.keep(tf.sum(tf.mean(tf.square(z), 1)));
      return tf.sum(tf.div(tf.sub(tf.mul(0.5, tf.sum(tf.square(z), 1)), logDet), m.flow.config.inputDim)) as tf.Scalar;
    };
    return tf.grad(lossOf)(x).mul(tf.tensor1d(m.backbone.input.std)) as tf.Tensor4D;
  });
  try {
    return { grad, zsq: (await zsq!.data())[0] };
  } catch (e) {
    grad.dispose();
    throw e;
  } finally {
    zsq!.dispose();
  }
}

/** TF.js for everything: the engine on WebGPU and WebGL, and wherever the WebAssembly kernels are turned off. */
export const TFJS_ENGINE: FeatureEngine = {
  name: 'tfjs',
  copyRows: tfjsCopyRows,
  copyGradients: tfjsCopyGradients,
  bytesFor: () => 0,
};
