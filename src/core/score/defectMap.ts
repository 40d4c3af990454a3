import * as tf from '@tensorflow/tfjs';
import { rotate, toUnitRgb } from '../features/preprocess';
import type { RgbaImage } from '../image';
import { scoreAngles, type MapOrder, type ScoreOptions, type Scorer } from './score';
import { checkThreadLimit } from '../wasm/threads';

export type { MapOrder } from './score';

export interface DefectMap {
  /** The anomaly score from the same copies. */
  score: number;
  /** Row-major map at the input image's resolution. */
  map: Float32Array;
  width: number;
  height: number;
  /** Largest value of the map, for callers that want it without a scan. */
  max: number;
}

/** Gaussian blur sigma of the official code, in pixels at 448; scaled with the working size. */
const SIGMA_AT_448 = 3;

/** The order defectMap uses when none is asked for. */
export const DEFAULT_MAP_ORDER: MapOrder = 'abs-first';

/** ScoreOptions' mapOrder (see MapOrder) picks the order; the rest is as for scores. */
export type DefectMapOptions = ScoreOptions;

/**
 * The official localisation: gradient of each copy's loss w.r.t. its normalised input pixels, rotated back,
 * combined over channels and copies in `opts.mapOrder` (see MapOrder), Gaussian blur sigma 3 at 448,
 * squared; then resized to the input resolution. Each copy's gradient is that of its own loss (the sum of
 * the per-copy losses is differentiated), so a map is T^2 times one from the official code, whose loss is
 * the mean over the T copies. The gradients come from the model's feature engine (execution/): the
 * WebAssembly kernels' backward pass (score/hostMap.ts), or TF.js's autodiff.
 */
export async function defectMap(m: Scorer, img: RgbaImage, opts: DefectMapOptions): Promise<DefectMap> {
  if (opts.threads !== undefined) checkThreadLimit(opts.threads);
  const angles = scoreAngles(opts);
  const order = opts.mapOrder ?? DEFAULT_MAP_ORDER;
  const chunk = opts.chunk ?? 4;
  const size = m.features.size;
  const sigma = (SIGMA_AT_448 * size) / 448;
  const base = tf.tidy(() => toUnitRgb(img, size).expandDims(0) as tf.Tensor4D);
  let acc: tf.Tensor2D = tf.zeros([size, size]);
  let zsq = 0;
  try {
    for (let i = 0; i < angles.length; i += chunk) {
      const part = angles.slice(i, i + chunk);
      const { grad: g, zsq: partZsq } = await m.engine.copyGradients(m, base, part, opts.threads);
      zsq += partZsq;
      let nextAcc: tf.Tensor2D;
      try {
        nextAcc = tf.tidy(() => {
          const back = tf.concat(part.map((a, k) => rotate(tf.slice(g, [k, 0, 0, 0], [1, size, size, 3]), -a)), 0);
          // Sum over copies of the per-copy channel mean; divided by T below.
          const summed = (order === 'official' ? tf.sum(tf.mean(tf.abs(blurChannels(back, sigma)), 3), 0) : tf.sum(tf.mean(tf.abs(back), 3), 0)) as tf.Tensor2D;
          return tf.add(acc, summed) as tf.Tensor2D;
        });
      } finally {
        g.dispose();
      }
      acc.dispose();
      acc = nextAcc;
    }
    const mapT = tf.tidy(() => {
      const mean = tf.div(acc, angles.length) as tf.Tensor2D;
      const combined = order === 'official' ? mean : gaussianBlur(mean, sigma);
      const sq = tf.square(combined).expandDims(2) as tf.Tensor3D;
      return tf.image.resizeBilinear(sq, [img.height, img.width], false, true).squeeze([2]);
    });
    const map = (await mapT.data()) as Float32Array;
    mapT.dispose();
    let max = 0;
    for (let i = 0; i < map.length; i++) if (map[i] > max) max = map[i];
    return { score: zsq / angles.length, map, width: img.width, height: img.height, max };
  } finally {
    acc.dispose();
    base.dispose();
  }
}

/** gaussianBlur of every channel of every image: [N, H, W, C] -> [N, H, W, C]. */
export function blurChannels(x: tf.Tensor4D, sigma: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const maps = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c, h, w, 1]) as tf.Tensor4D;
    return tf.transpose(tf.reshape(gaussianBlurMaps(maps, sigma), [n, c, h, w]), [0, 2, 3, 1]) as tf.Tensor4D;
  });
}

/** Separable Gaussian blur truncated at 4 sigma with reflected borders, like scipy.ndimage.gaussian_filter. */
export function gaussianBlur(x: tf.Tensor2D, sigma: number): tf.Tensor2D {
  return tf.tidy(() => gaussianBlurMaps(x.expandDims(0).expandDims(3) as tf.Tensor4D, sigma).squeeze([0, 3]) as tf.Tensor2D);
}

/** gaussianBlur of a batch of one-channel maps [N, H, W, 1]. */
function gaussianBlurMaps(x: tf.Tensor4D, sigma: number): tf.Tensor4D {
  return tf.tidy(() => {
    const r = Math.max(1, Math.round(4 * sigma));
    const k = new Float32Array(2 * r + 1);
    let s = 0;
    for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
    for (let i = 0; i < k.length; i++) k[i] /= s;
    const img = tf.mirrorPad(x, [[0, 0], [r, r], [r, r], [0, 0]], 'symmetric');
    const kh = tf.tensor4d(k, [1, 2 * r + 1, 1, 1]);
    const kv = tf.tensor4d(k, [2 * r + 1, 1, 1, 1]);
    return tf.conv2d(tf.conv2d(img, kh, 1, 'valid'), kv, 1, 'valid');
  });
}
