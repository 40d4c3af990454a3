import type { PlanConv } from './plan';

/*
 * The backward-for-data steps of the backbone on the host (backbones/hostBackbone.ts inputGradient) that are
 * not products: scattering patch gradients back to pixels (col2im), routing through max pools and LRN, and
 * masking a ReLU's gradient. Plain loops over one Float32Array (the runner's memory), offsets in floats,
 * NHWC images; each adds into or writes its destination as its comment says. The products (a
 * convolution's dY times its weights transposed) run on the GEMM kernels.
 */

/** Columns of a convolution's transposed weight matrix (k k in), padded to whole strips of 8. */
export function patchColumns(c: PlanConv): number {
  const [, cin, k] = c.shape;
  return Math.ceil((k * k * cin) / 8) * 8;
}

/**
 * The weights transposed, as the right operand of dY (pixels x out) times W^T: row co, column (ky k + kx) in
 * + ci (the im2col tap order), stored in strips of 8 columns as nnRows reads them, zero past k k in.
 */
export function transposedPatchMatrix(c: PlanConv): Float32Array {
  const [cout, cin, k] = c.shape;
  const cols = patchColumns(c);
  const out = new Float32Array(cols * cout);
  for (let co = 0; co < cout; co++) {
    for (let ci = 0; ci < cin; ci++) {
      for (let t = 0; t < k * k; t++) {
        const j = t * cin + ci;
        out[(j >> 3) * cout * 8 + co * 8 + (j & 7)] = c.weight[(co * cin + ci) * k * k + t];
      }
    }
  }
  return out;
}

export interface ConvGeometry {
  /** Input side, channels. */
  h: number;
  c: number;
  k: number;
  stride: number;
  pad: number;
  /** Output side. */
  o: number;
}

/**
 * dx += the patch gradients `dcol` (o o rows of `ld` floats, columns in im2col's tap order) scattered back to
 * the pixels they were copied from; taps in the padding are dropped.
 */
export function col2imAdd(f32: Float32Array, dcol: number, ld: number, dx: number, g: ConvGeometry): void {
  const { h, c, k, stride, pad, o } = g;
  for (let oy = 0; oy < o; oy++) {
    for (let ox = 0; ox < o; ox++) {
      const row = dcol + (oy * o + ox) * ld;
      for (let ky = 0; ky < k; ky++) {
        const iy = oy * stride - pad + ky;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < k; kx++) {
          const ix = ox * stride - pad + kx;
          if (ix < 0 || ix >= h) continue;
          const from = row + (ky * k + kx) * c;
          const to = dx + (iy * h + ix) * c;
          for (let ci = 0; ci < c; ci++) f32[to + ci] += f32[from + ci];
        }
      }
    }
  }
}

/**
 * dx += the 3x3 max pool's gradient: each output's `g` goes to the first largest input of its window (rows,
 * then columns, as PyTorch and TF.js pick among ties). Stride 2: windows at (2 oy, 2 ox) clipped to the
 * image (ceil mode's last window too), o x o outputs. Stride 1: windows centred on each pixel, clipped.
 */
export function maxPoolBackAdd(f32: Float32Array, x: number, h: number, c: number, stride: 1 | 2, o: number, g: number, dx: number): void {
  const off = stride === 1 ? -1 : 0;
  // Channels innermost, as the image is laid out: each window's running maximum and where it is, per channel.
  const top = new Float32Array(c);
  const at = new Int32Array(c);
  for (let oy = 0; oy < o; oy++) {
    const y0 = Math.max(0, oy * stride + off);
    const y1 = Math.min(h, oy * stride + off + 3);
    for (let ox = 0; ox < o; ox++) {
      const x0 = Math.max(0, ox * stride + off);
      const x1 = Math.min(h, ox * stride + off + 3);
      const first = (y0 * h + x0) * c;
      for (let ch = 0; ch < c; ch++) {
        top[ch] = f32[x + first + ch];
        at[ch] = first + ch;
      }
      for (let y = y0; y < y1; y++) {
        for (let xx = y === y0 ? x0 + 1 : x0; xx < x1; xx++) {
          const tap = (y * h + xx) * c;
          for (let ch = 0; ch < c; ch++) {
            const v = f32[x + tap + ch];
            if (v > top[ch]) {
              top[ch] = v;
              at[ch] = tap + ch;
            }
          }
        }
      }
      const go = g + (oy * o + ox) * c;
      for (let ch = 0; ch < c; ch++) f32[dx + at[ch]] += f32[go + ch];
    }
  }
}

/**
 * dx = the gradient of Caffe's LRN across channels (hostOps.ts lrnAcross) at input x, given `g` at its
 * output. With s_c = k + alpha / size sum_{j in W(c)} x_j^2 and the window symmetric:
 * dx_j = g_j s_j^-beta - 2 alpha beta / size x_j sum_{c in W(j)} g_c x_c s_c^(-beta-1).
 */
export function lrnBack(f32: Float32Array, x: number, g: number, dx: number, pixels: number, ch: number, p: { size: number; alpha: number; beta: number; k: number }): void {
  const half = (p.size - 1) / 2;
  const scale = p.alpha / p.size;
  // GoogLeNet's beta, 0.75: s^-0.75 as two square roots, several times faster than Math.pow (as lrnAcross).
  const threeQuarters = p.beta === 0.75;
  const sq = new Float64Array(ch + 1);
  /** s_c^-beta */
  const sb = new Float64Array(ch);
  const t = new Float64Array(ch + 1);
  for (let i = 0; i < pixels; i++) {
    const row = x + i * ch;
    const gr = g + i * ch;
    for (let c = 0; c < ch; c++) sq[c + 1] = sq[c] + f32[row + c] * f32[row + c];
    for (let c = 0; c < ch; c++) {
      const lo = c - half > 0 ? c - half : 0;
      const hi = c + half + 1 < ch ? c + half + 1 : ch;
      const s = p.k + scale * (sq[hi] - sq[lo]);
      if (threeQuarters) {
        const r = Math.sqrt(s);
        sb[c] = 1 / (r * Math.sqrt(r));
      } else sb[c] = Math.pow(s, -p.beta);
      t[c + 1] = t[c] + (f32[gr + c] * f32[row + c] * sb[c]) / s;
    }
    for (let c = 0; c < ch; c++) {
      const lo = c - half > 0 ? c - half : 0;
      const hi = c + half + 1 < ch ? c + half + 1 : ch;
      f32[dx + i * ch + c] = f32[gr + c] * sb[c] - 2 * scale * p.beta * f32[row + c] * (t[hi] - t[lo]);
    }
  }
}

/**
 * d = the gradient `g` through a ReLU whose output is `y`, for `cols` channels of rows `ld` floats wide at
 * both (a concatenated output's slice), written densely (rows `cols` wide).
 */
export function reluBackSlice(f32: Float32Array, y: number, g: number, ld: number, pixels: number, cols: number, d: number): void {
  for (let i = 0; i < pixels; i++) {
    const yr = y + i * ld;
    const gr = g + i * ld;
    const dr = d + i * cols;
    for (let c = 0; c < cols; c++) f32[dr + c] = f32[yr + c] > 0 ? f32[gr + c] : 0;
  }
}

/** The ReLU mask of a dense block in place: g = y > 0 ? g : 0 (for counts the 4-float kernel cannot take). */
export function reluBackInPlace(f32: Float32Array, y: number, g: number, count: number): void {
  for (let i = 0; i < count; i++) if (!(f32[y + i] > 0)) f32[g + i] = 0;
}
