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
  const { width: w, height: h, data } = img;
  const [W, H] = fitSize(w, h, maxSide);
  if (W === w && H === h) return img;
  // W <= w and H <= h, so every block holds at least one source pixel.
  const xStart = new Int32Array(W + 1);
  for (let tx = 0; tx <= W; tx++) xStart[tx] = Math.floor((tx * w) / W);
  const column = new Int32Array(w);
  for (let tx = 0; tx < W; tx++) column.fill(tx * 4, xStart[tx], xStart[tx + 1]);
  // Float64 because one block can hold up to MAX_PIXELS samples of 255, beyond 32 bits.
  const acc = new Float64Array(W * 4);
  const out = new Uint8ClampedArray(W * H * 4);
  for (let ty = 0; ty < H; ty++) {
    const y0 = Math.floor((ty * h) / H);
    const y1 = Math.floor(((ty + 1) * h) / H);
    acc.fill(0);
    for (let y = y0; y < y1; y++) {
      let i = y * w * 4;
      for (let x = 0; x < w; x++, i += 4) {
        const c = column[x];
        acc[c] += data[i];
        acc[c + 1] += data[i + 1];
        acc[c + 2] += data[i + 2];
        acc[c + 3] += data[i + 3];
      }
    }
    const o = ty * W * 4;
    for (let tx = 0; tx < W; tx++) {
      const n = (y1 - y0) * (xStart[tx + 1] - xStart[tx]);
      for (let c = 0; c < 4; c++) out[o + tx * 4 + c] = Math.round(acc[tx * 4 + c] / n);
    }
  }
  return { width: W, height: H, data: out };
}

