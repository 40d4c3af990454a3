// Free of TF.js: plain loops over the 8-bit pixels, so the browser worker and the CLI share it as is.
import type { RgbaImage } from '../image';

/** One axis of a separable resize: output i reads `count[i]` inputs from `start[i]` with `weights`. */
interface AxisFilter {
  start: Int32Array;
  count: Int32Array;
  /** `taps` weights per output, the first count[i] used. */
  weights: Float64Array;
  taps: number;
}

/**
 * PIL's bilinear resampling weights (Resample.c precompute_coeffs with the triangle filter): the filter's
 * support widens with the shrink factor, so shrinking averages every input pixel under the output pixel
 * (antialiasing); enlarging is ordinary bilinear interpolation with half-pixel centres and clamped edges.
 */
function axisFilter(inSize: number, outSize: number): AxisFilter {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the triangle filter's support is 1
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale;
    // Truncation toward zero, as PIL's (int) casts.
    const lo = Math.max(0, Math.trunc(centre - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(centre + support + 0.5));
    const n = Math.min(taps, hi - lo);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const t = Math.abs((k + lo - centre + 0.5) / filterScale);
      const w = t < 1 ? 1 - t : 0;
      weights[i * taps + k] = w;
      sum += w;
    }
    if (sum !== 0) for (let k = 0; k < n; k++) weights[i * taps + k] /= sum;
    start[i] = lo;
    count[i] = n;
  }
  return { start, count, weights, taps };
}

/**
 * RGBA pixels -> [height, width, 3] RGB in [0, 1], resized as torchvision's Resize((height, width)) does
 * on a PIL image (PIL bilinear: antialiased when shrinking), but in float without PIL's 8-bit rounding
 * between and after the two passes. Horizontal pass first, as PIL.
 */
export function resizeRgb(img: RgbaImage, width: number, height: number): Float32Array {
  const { width: w0, height: h0, data } = img;
  const fx = axisFilter(w0, width);
  const fy = axisFilter(h0, height);
  // Horizontal: [h0, width, 3].
  const mid = new Float32Array(h0 * width * 3);
  for (let y = 0; y < h0; y++) {
    const row = y * w0 * 4;
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      const s = fx.start[x];
      const base = x * fx.taps;
      for (let k = 0; k < fx.count[x]; k++) {
        const wk = fx.weights[base + k];
        const p = row + (s + k) * 4;
        r += wk * data[p];
        g += wk * data[p + 1];
        b += wk * data[p + 2];
      }
      const o = (y * width + x) * 3;
      mid[o] = r;
      mid[o + 1] = g;
      mid[o + 2] = b;
    }
  }
  // Vertical: [height, width, 3], scaled to [0, 1].
  const out = new Float32Array(height * width * 3);
  const rowLen = width * 3;
  for (let y = 0; y < height; y++) {
    const s = fy.start[y];
    const base = y * fy.taps;
    const o = y * rowLen;
    for (let k = 0; k < fy.count[y]; k++) {
      const wk = fy.weights[base + k] / 255;
      const src = (s + k) * rowLen;
      for (let j = 0; j < rowLen; j++) out[o + j] += wk * mid[src + j];
    }
  }
  return out;
}
