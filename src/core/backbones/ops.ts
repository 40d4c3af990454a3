import * as tf from '@tensorflow/tfjs';

// The backbone is frozen, so these ops differentiate with respect to their input only. TF.js's WASM
// backend computes Conv2DBackpropInput, MaxPoolGrad and StridedSlice with slow reference loops (seconds per
// 448 px input gradient), so both gradients are rewritten here as forward convolutions, slices and reshapes.

/** [a, b, c] -> [b, a, c]: the one transpose shape the WASM backend does fast (6-D slices and transposes are slow). */
function swap01(x: tf.Tensor, a: number, b: number, c: number): tf.Tensor3D {
  return tf.transpose(tf.reshape(x, [a, b, c]), [1, 0, 2]);
}

/** Splits [N, H, W, C] into s*s phase images x[:, r::s, q::s], zero-padding H and W up to multiples of s. */
function phases(x: tf.Tensor4D, s: number): tf.Tensor4D[][] {
  const [n, h, w, c] = x.shape;
  const hp = Math.ceil(h / s);
  const wp = Math.ceil(w / s);
  const padded = tf.pad(x, [[0, 0], [0, hp * s - h], [0, wp * s - w], [0, 0]]);
  const rows = tf.split(swap01(padded, n * hp, s, wp * s * c), s, 0);
  return rows.map((row) => tf.split(swap01(row, n * hp * wp, s, c), s, 0).map((p) => tf.reshape(p, [n, hp, wp, c]) as tf.Tensor4D));
}

/** Inverse of phases(): interleaves s*s images [N, hp, wp, C] into [N, h, w, C]. */
function interleave(parts: tf.Tensor4D[][], h: number, w: number): tf.Tensor4D {
  const s = parts.length;
  const [n, hp, wp, c] = parts[0][0].shape;
  const rows = parts.map((row) => swap01(tf.stack(row, 0), s, n * hp * wp, c)); // [n*hp*wp, s(q), c]
  const grid = swap01(tf.stack(rows, 0), s, n * hp, wp * s * c); // [n*hp, s(r), wp*s*c]
  return tf.slice(tf.reshape(grid, [n, hp * s, wp * s, c]) as tf.Tensor4D, [0, 0, 0, 0], [n, h, w, c]);
}

/** Output channels (r, q, C) of a sub-pixel convolution [N, hp, wp, s*s*C] -> pixels [N, hp*s, wp*s, C]. */
function depthToSpace(z: tf.Tensor4D, s: number): tf.Tensor4D {
  const [n, hp, wp, sc] = z.shape;
  const c = sc / (s * s);
  const byRow = swap01(z, n * hp * wp, s, s * c); // [s(r), n*hp*wp, s*c]
  const grid = swap01(byRow, s, n * hp, wp * s * c); // [n*hp, s(r), wp*s*c]
  return tf.reshape(grid, [n, hp * s, wp * s, c]) as tf.Tensor4D;
}

/**
 * A frozen conv + bias + ReLU layer. Its input gradient is one stride-1 convolution of the output gradient
 * with a kernel rearranged per output phase (sub-pixel convolution), then an interleave: no dilated zeros.
 */
export class FrozenConv {
  readonly filter: tf.Tensor4D;
  readonly bias: tf.Tensor1D;
  private readonly backFilter: tf.Tensor4D;
  private readonly dlo: number;
  private readonly dhi: number;

  /** `weight` in PyTorch layout [out, in, k, k]. */
  constructor(
    weight: { shape: number[]; data: Float32Array },
    bias: Float32Array,
    readonly stride: number,
    readonly pad: number,
  ) {
    const [cout, cin, k] = weight.shape;
    const s = stride;
    this.filter = tf.tidy(() => tf.tensor4d(weight.data, [cout, cin, k, k]).transpose([2, 3, 1, 0]) as tf.Tensor4D);
    this.bias = tf.tensor1d(bias);
    // dx[s*i + r] = sum_d dy[i - d] * W[s*d + r + pad], for the d where that tap exists.
    this.dlo = Math.ceil(-(s - 1 + pad) / s);
    this.dhi = Math.floor((k - 1 - pad) / s);
    const L = this.dhi - this.dlo + 1;
    const back = new Float32Array(L * L * cout * s * s * cin);
    for (let jh = 0; jh < L; jh++) {
      for (let jw = 0; jw < L; jw++) {
        for (let rh = 0; rh < s; rh++) {
          const ah = s * (this.dhi - jh) + rh + pad;
          if (ah < 0 || ah >= k) continue;
          for (let rw = 0; rw < s; rw++) {
            const aw = s * (this.dhi - jw) + rw + pad;
            if (aw < 0 || aw >= k) continue;
            for (let co = 0; co < cout; co++) {
              for (let ci = 0; ci < cin; ci++) {
                const outCh = (rh * s + rw) * cin + ci;
                back[((jh * L + jw) * cout + co) * s * s * cin + outCh] = weight.data[((co * cin + ci) * k + ah) * k + aw];
              }
            }
          }
        }
      }
    }
    this.backFilter = tf.tensor4d(back, [L, L, cout, s * s * cin]);
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const op = tf.customGrad((input, save) => {
      const y = tf.fused.conv2d({ x: input as tf.Tensor4D, filter: this.filter, strides: this.stride, pad: this.pad, bias: this.bias, activation: 'relu' });
      (save as tf.GradSaveFunc)([y]);
      return {
        value: y,
        // tidy: intermediates of every gradient would otherwise live until the whole backward pass ends
        // (gigabytes at 448 px with several copies, past the WASM heap).
        gradFunc: (dy, saved) => tf.tidy(() => {
          const [out] = saved as [tf.Tensor4D];
          const [n, h, w, cin] = (input as tf.Tensor4D).shape;
          const [, oh, ow] = out.shape;
          const s = this.stride;
          const hp = Math.ceil(h / s);
          const wp = Math.ceil(w / s);
          const g = tf.mul(dy as tf.Tensor4D, tf.step(out)) as tf.Tensor4D;
          const padded = tf.pad(g, [
            [0, 0],
            [this.dhi, Math.max(0, hp - this.dlo - oh)],
            [this.dhi, Math.max(0, wp - this.dlo - ow)],
            [0, 0],
          ]);
          const z = tf.slice(tf.conv2d(padded, this.backFilter, 1, 'valid'), [0, 0, 0, 0], [n, hp, wp, s * s * cin]);
          return tf.slice(s === 1 ? z : depthToSpace(z, s), [0, 0, 0, 0], [n, h, w, cin]);
        }),
      };
    });
    return op(x) as tf.Tensor4D;
  }

  dispose(): void {
    this.filter.dispose();
    this.bias.dispose();
    this.backFilter.dispose();
  }
}

/** MaxPool 3x3 stride 2 'valid'; the gradient goes to the first maximum of each window, as TF's does. */
export function maxPool3s2(x: tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad((input, save) => {
    const y = tf.maxPool(input as tf.Tensor4D, 3, 2, 'valid');
    (save as tf.GradSaveFunc)([input as tf.Tensor4D, y]);
    return {
      value: y,
      gradFunc: (dy, saved) => tf.tidy(() => {
        const [xin, out] = saved as [tf.Tensor4D, tf.Tensor4D];
        const [n, h, w, c] = xin.shape;
        const [, oh, ow] = out.shape;
        // Window tap (a, b) of output (i, j) is input (2i + a, 2j + b) = phase (a % 2, b % 2) at (i + a/2, j + b/2).
        const ph = phases(tf.pad(xin, [[0, 0], [0, 2], [0, 2], [0, 0]]), 2);
        const hp = ph[0][0].shape[1];
        const wp = ph[0][0].shape[2];
        const acc: tf.Tensor4D[][] = [0, 1].map(() => [0, 1].map(() => tf.zeros([n, hp, wp, c]) as tf.Tensor4D));
        let unclaimed = tf.onesLike(out);
        for (let a = 0; a < 3; a++) {
          for (let b = 0; b < 3; b++) {
            const [da, db] = [a >> 1, b >> 1];
            const tap = tf.slice(ph[a & 1][b & 1], [0, da, db, 0], [n, oh, ow, c]);
            const hit = tf.mul(tf.cast(tf.equal(tap, out), 'float32'), unclaimed);
            unclaimed = tf.sub(unclaimed, hit);
            const routed = tf.pad(tf.mul(dy as tf.Tensor4D, hit) as tf.Tensor4D, [[0, 0], [da, hp - oh - da], [db, wp - ow - db], [0, 0]]);
            acc[a & 1][b & 1] = tf.add(acc[a & 1][b & 1], routed);
          }
        }
        return tf.slice(interleave(acc, hp * 2, wp * 2), [0, 0, 0, 0], [n, h, w, c]);
      }),
    };
  });
  return op(x) as tf.Tensor4D;
}
