import * as tf from '@tensorflow/tfjs';
import { gatherDistinct } from '../gatherGrad';
import type { RgbaImage } from '../image';

/** RGBA image -> [size, size, 3] RGB in [0, 1], resized bilinearly to the square working size. */
export function toUnitRgb(img: RgbaImage, size: number): tf.Tensor3D {
  if (img.width < 1 || img.height < 1 || img.data.length < img.width * img.height * 4) {
    throw new Error(`image data does not match its size ${img.width}x${img.height}`);
  }
  return tf.tidy(() => {
    const rgba = tf.tensor3d(Uint8Array.from(img.data as Uint8Array), [img.height, img.width, 4], 'int32');
    const rgb = tf.slice(rgba, [0, 0, 0], [img.height, img.width, 3]).toFloat().div(255) as tf.Tensor3D;
    if (img.width === size && img.height === size) return rgb;
    return tf.image.resizeBilinear(rgb, [size, size], false, true);
  });
}

/** Rotation about the centre; corners uncovered by the rotated image are black, as torchvision's RandomRotation does. */
export function rotate(batch: tf.Tensor4D, radians: number): tf.Tensor4D {
  if (radians === 0) return batch.clone();
  return tf.image.rotateWithOffset(batch, radians, 0, 0.5);
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

/** Source rows PyTorch's default ('nearest') interpolate reads when shrinking n to m: floor(i * n / m). */
export function nearestIndices(n: number, m: number): Int32Array {
  const scale = n / m;
  const idx = new Int32Array(m);
  for (let i = 0; i < m; i++) idx[i] = Math.min(Math.floor(i * scale), n - 1);
  return idx;
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
