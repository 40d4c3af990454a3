import * as tf from '@tensorflow/tfjs';
import type { FeatureEngine, ScoredModel } from '../execution/featureEngine';
import { featureDim } from '../features/extractor';
import type { Flow } from '../flow/flow';
import type { RgbaImage } from '../image';
import { evenAngles, randomAngles } from '../transforms';
import { checkThreadLimit } from '../wasm/threads';

/**
 * Order of the steps that turn the copies' signed input gradients into a map.
 * - 'official': localization.py's: each copy's gradient rotated back, each channel blurred, then |.|,
 *   averaged over copies and channels, squared. Signed noise partly cancels in the blur.
 * - 'abs-first': rotated back, |.| averaged over copies and channels, one blur, squared.
 * Both keep the model's fixed colour scale (no per-image normalisation); the values differ between the
 * orders, so a map scale calibrated with one order does not fit maps made with the other.
 */
export type MapOrder = 'official' | 'abs-first';

export interface ScoreOptions {
  /** Transformed copies averaged into the score (T). */
  transforms: number;
  /** Random rotations from this seed instead of evenly spaced ones. */
  randomSeed?: number;
  /**
   * False for a model trained without rotations (parts always in the same pose): it is scored on the one
   * unrotated image, since rotated copies are inputs it never saw. Default true.
   */
  rotate?: boolean;
  /** Copies run through the CNN at once; bounds memory. */
  chunk?: number;
  /** Defect maps only: how copies' gradients are combined (see MapOrder); default DEFAULT_MAP_ORDER. */
  mapOrder?: MapOrder;
  /**
   * At most this many threads for this job's host kernels (the feature engine's; TF.js's own pool is not
   * ours): fewer than the engine has where other work holds cores, so that its splits do not wait on
   * helpers that have none. Default: all of the engine's.
   */
  threads?: number;
}

/** A model and the engine its plan runs it on. */
export interface Scorer extends ScoredModel {
  engine: FeatureEngine;
}

/** The rotations an image is scored under; their count is the T the score averages over. */
export function scoreAngles(opts: Pick<ScoreOptions, 'transforms' | 'randomSeed' | 'rotate'>): number[] {
  if (opts.rotate === false) return [0];
  return opts.randomSeed === undefined ? evenAngles(opts.transforms) : randomAngles(opts.transforms, opts.randomSeed);
}

/** Anomaly score: mean of z^2 over all dimensions and the T transformed copies. */
export async function anomalyScore(m: Scorer, img: RgbaImage, opts: ScoreOptions): Promise<number> {
  if (opts.threads !== undefined) checkThreadLimit(opts.threads);
  const specs = scoreAngles(opts).map((angle) => ({ angle }));
  const rows = await m.engine.copyRows(m.backbone, m.features, img, specs, opts.chunk, opts.threads);
  return (await scoreFeatureRows(m.flow, rows, featureDim(m.backbone, m.features), specs.length))[0];
}

/**
 * Scores of precomputed feature rows grouped by image: rows [i*T, (i+1)*T) belong to image i. Runs in
 * chunks, since the flow's activations for thousands of rows at once would exceed the WASM heap.
 */
export async function scoreFeatureRows(flow: Flow, rows: Float32Array, dim: number, transforms: number, maxRows = 1024): Promise<Float32Array> {
  const n = rows.length / dim / transforms;
  const perChunk = Math.max(1, Math.floor(maxRows / transforms));
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i += perChunk) {
    const m = Math.min(perChunk, n - i);
    const out = tf.tidy(() => {
      const z = flow.forward(tf.tensor2d(rows.subarray(i * transforms * dim, (i + m) * transforms * dim), [m * transforms, dim])).z;
      return tf.mean(tf.reshape(tf.square(z), [m, transforms * dim]), 1);
    });
    scores.set(await out.data(), i);
    out.dispose();
  }
  return scores;
}
