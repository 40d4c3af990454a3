import * as tf from '@tensorflow/tfjs';
import { gatherDistinct } from '../gatherGrad';
import type { RgbaImage } from '../image';
import { nearestIndices, resizeRgb } from '../resample';

/**
 * Bumped whenever preprocessing changes the pixels the CNN sees, so caches of features (the benchmark's)
 * are not reused across versions. 2: antialiased resize, rotation about PIL's centre.
 */
export const PREPROCESS_VERSION = 2;

/**
 * RGBA image -> [size, size, 3] RGB in [0, 1] at the square working size: the one resize of every path
 * (training, scoring, defect maps; the browser worker and the CLI). As torchvision's Resize((size, size)) on
 * a PIL image in the official loader: PIL bilinear, antialiased when shrinking (resizeRgb).
 */
export function toUnitRgb(img: RgbaImage, size: number): tf.Tensor3D {
  if (img.width < 1 || img.height < 1 || img.data.length < img.width * img.height * 4) {
    throw new Error(`image data does not match its size ${img.width}x${img.height}`);
  }
  if (img.width !== size || img.height !== size) return tf.tensor3d(resizeRgb(img, size, size), [size, size, 3]);
  return tf.tidy(() => {
    const rgba = tf.tensor3d(Uint8Array.from(img.data as Uint8Array), [img.height, img.width, 4], 'int32');
    return tf.slice(rgba, [0, 0, 0], [img.height, img.width, 3]).toFloat().div(255) as tf.Tensor3D;
  });
}

/**
 * Rotation about the centre by `radians` counter-clockwise, nearest neighbour, corners black: torchvision's
 * rotate on a PIL image with NEAREST, the interpolation of the official RandomRotation(180) and fixed
 * rotations. PIL turns about the middle of the image, (n - 1) / 2 in pixel indices, which TF.js's
 * rotateWithOffset takes as the fraction (n - 1) / (2n) (its 0.5 would turn about pixel n / 2, one half
 * pixel off, so even a quarter turn would shift the image by a pixel).
 */
export function rotate(batch: tf.Tensor4D, radians: number): tf.Tensor4D {
  if (radians === 0) return batch.clone();
  const [, h, w] = batch.shape;
  return tf.image.rotateWithOffset(batch, radians, 0, [(w - 1) / (2 * w), (h - 1) / (2 * h)]);
}

export interface ColourJitter {
  brightness: number;
  contrast: number;
  saturation: number;
}

/** torchvision-style ColorJitter with given factors (1 = unchanged) on RGB in [0, 1]. */
export function jitter(batch: tf.Tensor4D, f: ColourJitter): tf.Tensor4D {
  return tf.tidy(() => {
    let x = batch.mul(f.brightness).clipByValue(0, 1) as tf.Tensor4D;
    const grey = x.mul(tf.tensor1d([0.299, 0.587, 0.114])).sum(3, true);
    if (f.contrast !== 1) {
      const m = grey.mean([1, 2, 3], true);
      x = x.sub(m).mul(f.contrast).add(m).clipByValue(0, 1) as tf.Tensor4D;
    }
    if (f.saturation !== 1) {
      const g = x.mul(tf.tensor1d([0.299, 0.587, 0.114])).sum(3, true);
      x = x.sub(g).mul(f.saturation).add(g).clipByValue(0, 1) as tf.Tensor4D;
    }
    return x;
  });
}

/**
 * Nearest-neighbour downsampling with gradients to the full-size input. An integer factor k reads every
 * k-th row and column, a reshape and a slice (3x faster than two gathers on WASM); other ratios gather.
 */
export function downsampleNearest(x: tf.Tensor4D, size: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (h === size && w === size) return x;
  return tf.tidy(() => {
    const k = h / size;
    if (h === w && Number.isInteger(k)) {
      // [n*size, k, size, k*c]: row r*k + a, column q*k + b -> [.., a, q, b*c + channel]; keep a = 0, b = 0.
      const grid = tf.reshape(x, [n * size, k, size, k * c]);
      return tf.reshape(tf.slice(grid, [0, 0, 0, 0], [-1, 1, -1, c]), [n, size, size, c]) as tf.Tensor4D;
    }
    return gatherDistinct(gatherDistinct(x, nearestIndices(h, size), 1), nearestIndices(w, size), 2);
  });
}
