import { downsampleArea } from './resample';

/** 8-bit RGBA pixels, 4 bytes per pixel, row-major: the layout of a browser ImageData. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray | Uint8Array;
}

/**
 * The long side an image is reduced to before the engine resizes it to the working size: a memory bound
 * (a 4096 px RGBA image is 64 MB), the same in the app and the CLI so both score the same pixels.
 */
export const MAX_IMAGE_SIDE = 4096;
/**
 * Largest image accepted, in pixels (100 megapixels, e.g. 10000 x 10000): anything bigger is almost surely
 * a wrong file, and its pixels alone would take 400 MB. Checked from the header before pixels are allocated.
 */
export const MAX_PIXELS = 100_000_000;

/** The size `downscaleToFit` gives: the long side at most `maxSide`, the aspect ratio kept, at least 1 x 1. */
export function fitSize(width: number, height: number, maxSide: number): [width: number, height: number] {
  const s = Math.min(1, maxSide / Math.max(width, height));
  return [Math.max(1, Math.round(width * s)), Math.max(1, Math.round(height * s))];
}

/**
 * Area-average reduction (each output pixel the mean of its block of source pixels, all four channels).
 * A box filter rather than the engine's bilinear resize, which at large ratios samples a few source pixels
 * and aliases fine texture, the thing defects show up in. Returns `img` itself when it already fits.
 */
export function downscaleToFit<T extends RgbaImage>(img: T, maxSide = MAX_IMAGE_SIDE): T | (RgbaImage & { data: Uint8ClampedArray }) {
  const [W, H] = fitSize(img.width, img.height, maxSide);
  if (W === img.width && H === img.height) return img;
  return { width: W, height: H, data: downsampleArea(img.data, img.width, img.height, 4, W, H, new Uint8ClampedArray(W * H * 4), true) };
}

