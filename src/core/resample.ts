// Every image and map resampling of the engine, the worker and the CLI, free of TF.js so that all three
// (and the UI) share it as is:
//   resizeRgb              PIL's bilinear resize (antialiased when shrinking): an image to the working size
//   nearestIndices,        PyTorch's nearest-neighbour interpolate: the smaller scales of a multi-scale pass
//   downsampleNearestRgb   (features/preprocess.ts's downsampleNearest is the same on tensors, with gradients)
//   resizeBilinear         bilinear with half-pixel centres (tf.image.resizeBilinear's): a map to its image's size
//   downsampleArea         area average: a large image to MAX_IMAGE_SIDE (image.ts), a map to the UI's size
import type { RgbaImage } from './image';

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

/** Source rows PyTorch's default ('nearest') interpolate reads when shrinking n to m: floor(i * n / m). */
export function nearestIndices(n: number, m: number): Int32Array {
  const scale = n / m;
  const idx = new Int32Array(m);
  for (let i = 0; i < m; i++) idx[i] = Math.min(Math.floor(i * scale), n - 1);
  return idx;
}

/** features/preprocess.ts's downsampleNearest of one [n, n, 3] image held in memory, to [m, m, 3]: the same pixels, without TF.js. */
export function downsampleNearestRgb(px: Float32Array, n: number, m: number): Float32Array {
  if (m === n) return px;
  const idx = nearestIndices(n, m);
  const out = new Float32Array(m * m * 3);
  for (let y = 0; y < m; y++) {
    const row = idx[y] * n;
    for (let x = 0; x < m; x++) {
      const src = (row + idx[x]) * 3;
      const dst = (y * m + x) * 3;
      out[dst] = px[src];
      out[dst + 1] = px[src + 1];
      out[dst + 2] = px[src + 2];
    }
  }
  return out;
}

/**
 * Bilinear resize of a row-major one-channel map with half-pixel centres and clamped edges, as
 * tf.image.resizeBilinear(alignCorners false, halfPixelCenters true) computes it (within float32 rounding):
 * a defect map from the working size to the image's.
 */
export function resizeBilinear(map: Float32Array, w: number, h: number, width: number, height: number): Float32Array {
  const axis = (n: number, to: number) => {
    const lo = new Int32Array(to);
    const hi = new Int32Array(to);
    const t = new Float32Array(to);
    for (let i = 0; i < to; i++) {
      const f = Math.min(n - 1, Math.max(0, ((i + 0.5) * n) / to - 0.5));
      lo[i] = Math.floor(f);
      hi[i] = Math.min(n - 1, lo[i] + 1);
      t[i] = f - lo[i];
    }
    return { lo, hi, t };
  };
  const xs = axis(w, width);
  const ys = axis(h, height);
  const out = new Float32Array(width * height);
  for (let y = 0, o = 0; y < height; y++) {
    const r0 = ys.lo[y] * w;
    const r1 = ys.hi[y] * w;
    const ty = ys.t[y];
    for (let x = 0; x < width; x++, o++) {
      const x0 = xs.lo[x];
      const x1 = xs.hi[x];
      const tx = xs.t[x];
      const top = map[r0 + x0] + (map[r0 + x1] - map[r0 + x0]) * tx;
      const bottom = map[r1 + x0] + (map[r1 + x1] - map[r1 + x0]) * tx;
      out[o] = top + (bottom - top) * ty;
    }
  }
  return out;
}

/**
 * Area-average reduction of a row-major image of `channels` interleaved channels from w x h to W x H (no
 * larger): each output pixel the mean of its block, rows floor(ty h / H) to floor((ty + 1) h / H) and
 * likewise columns, summed in float64 (a block can hold up to MAX_PIXELS samples of 255). It keeps the
 * mean, so a map's fixed colour scale still applies. Into `out`, rounded to integers when `round` (8-bit
 * pixels; Math.round, not the typed array's ties-to-even).
 */
export function downsampleArea<T extends Float32Array | Uint8ClampedArray>(data: ArrayLike<number>, w: number, h: number, channels: number, W: number, H: number, out: T, round = false): T {
  if (W > w || H > h) throw new Error(`area averaging only shrinks: ${w} x ${h} to ${W} x ${H}`);
  const xStart = new Int32Array(W + 1);
  for (let tx = 0; tx <= W; tx++) xStart[tx] = Math.floor((tx * w) / W);
  const column = new Int32Array(w);
  for (let tx = 0; tx < W; tx++) column.fill(tx * channels, xStart[tx], xStart[tx + 1]);
  const acc = new Float64Array(W * channels);
  for (let ty = 0; ty < H; ty++) {
    const y0 = Math.floor((ty * h) / H);
    const y1 = Math.floor(((ty + 1) * h) / H);
    acc.fill(0);
    for (let y = y0; y < y1; y++) {
      let i = y * w * channels;
      for (let x = 0; x < w; x++) {
        const c = column[x];
        for (let k = 0; k < channels; k++, i++) acc[c + k] += data[i];
      }
    }
    const o = ty * W * channels;
    for (let tx = 0; tx < W; tx++) {
      const n = (y1 - y0) * (xStart[tx + 1] - xStart[tx]);
      for (let k = 0; k < channels; k++) {
        const v = acc[tx * channels + k] / n;
        out[o + tx * channels + k] = round ? Math.round(v) : v;
      }
    }
  }
  return out;
}
