import { FuncBuilder, I32, V128 } from './emit';

/*
 * The two non-product steps of a frozen CNN's forward pass, so that the backbone can run on the products of
 * gemmKernels.ts (backbones/hostBackbone.ts): the patch matrix of a convolution (im2col) and the 3x3 / stride 2 max
 * pool. Both work on NHWC images of float32, rows r0 <= r < r1 of the output, so threads can split them.
 *
 *   im2col(x, h, w, c, k, s, pad, ow, out, r0, r1):
 *     row (oy * ow + ox) of out = the k x k x c patch at (oy s - pad, ox s - pad), taps (ky, kx, channel)
 *     in that order (the layout of a TF filter [k, k, c, cout] read as a [k k c, cout] matrix), zeros
 *     outside the image.
 *   maxPool(x, h, w, c, ow, out, r0, r1):
 *     out(oy, ox) = max over the 3 x 3 window at (2 oy, 2 ox) clipped to the image: PyTorch's
 *     MaxPool2d(3, 2), in ceil mode too (whose last window may hang over the edge). c a multiple of 4.
 *
 *   maxPoolBack(x, h, c, s, off, o, g, dx):
 *     dx += the 3x3 max pool's gradient (backbones/hostBackward.ts maxPoolBackAdd): each of the o x o
 *     outputs' gradient g goes to the first largest input of its window (rows, then columns) at
 *     (oy s - off, ox s - off), clipped to the h x h image: stride 2 without padding (off 0, ceil mode
 *     too) or stride 1 with a padding that never wins (off 1). c a multiple of 4. Windows overlap, so
 *     one thread runs it whole.
 *
 *   col2imAdd(dcol, ld, dx, h, c, k, s, pad, o):
 *     dx (h x h x c) += the patch gradients dcol (o x o rows of ld floats, columns in im2col's tap order)
 *     scattered back to the pixels they were copied from; taps in the padding dropped. c a multiple of
 *     4; one thread (patches overlap).
 *
 * Copies move 16 bytes at a time and may write up to 12 bytes past a run's end (the next run or the
 * buffer's padding overwrites or absorbs them) and read up to 12 bytes past the input's last pixel.
 */

/** Bytes that im2col may write past its output's end, and read past its input's. */
export const IM2COL_SLACK = 16;

const SUB = 0x6b;
const LT_S = 0x48;
const GT_S = 0x4a;
const SELECT = 0x1b;

export function emitIm2col(): FuncBuilder {
  const f = new FuncBuilder(new Array(11).fill(I32));
  const [x, h, w, c, k, s, pad, ow, out, r0, r1] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [oy, ox, ky, iy, ix0, lz, rz, mid, dst, src, q, n, cb, runB] = Array.from({ length: 14 }, () => f.local(I32));
  const zero = f.local(V128);
  f.v128Zero().set(zero);
  f.get(c).i32(2).shl().set(cb);
  f.get(k).get(cb).mul().set(runB);
  /** Stores 16-byte zeros over n bytes at dst, then advances dst by n. */
  const zeros = () => {
    f.chunks(q, n, () => f.get(dst).get(q).add().get(zero).v128Store());
    f.get(dst).get(n).add().set(dst);
  };
  f.get(out).get(r0).get(ow).mul().get(runB).mul().get(k).mul().add().set(dst);
  f.get(r0).set(oy);
  f.while(() => f.get(oy).get(r1).ltU(), () => {
    f.i32(0).set(ox);
    f.while(() => f.get(ox).get(ow).ltU(), () => {
      f.get(ox).get(s).mul().get(pad).op(SUB).set(ix0);
      // Taps clipped on the left (lz) and right (rz), and the run between them.
      f.i32(0).get(ix0).op(SUB).i32(0).i32(0).get(ix0).op(SUB).i32(0).op(GT_S).op(SELECT).set(lz);
      f.get(ix0).get(k).add().get(w).op(SUB).set(rz);
      f.get(rz).i32(0).get(rz).i32(0).op(GT_S).op(SELECT).set(rz);
      f.get(k).get(lz).op(SUB).get(rz).op(SUB).set(mid);
      // Only a padding as wide as the kernel could clip more taps than there are.
      f.get(mid).i32(0).op(LT_S).ifElse(() => {
        f.i32(0).set(mid);
        f.get(k).get(lz).op(SUB).set(rz);
      });
      f.i32(0).set(ky);
      f.while(() => f.get(ky).get(k).ltU(), () => {
        f.get(oy).get(s).mul().get(pad).op(SUB).get(ky).add().set(iy);
        f.get(iy).get(h).ltU().ifElse(
          () => {
            f.get(lz).get(cb).mul().set(n);
            zeros();
            f.get(mid).get(cb).mul().set(n);
            f.get(x).get(iy).get(w).mul().get(ix0).add().get(lz).add().get(cb).mul().add().set(src);
            f.chunks(q, n, () => f.get(dst).get(q).add().get(src).get(q).add().v128Load().v128Store());
            f.get(dst).get(n).add().set(dst);
            f.get(rz).get(cb).mul().set(n);
            zeros();
          },
          () => {
            f.get(runB).set(n);
            zeros();
          },
        );
        f.get(ky).i32(1).add().set(ky);
      });
      f.get(ox).i32(1).add().set(ox);
    });
    f.get(oy).i32(1).add().set(oy);
  });
  return f;
}

export function emitMaxPool(): FuncBuilder {
  const f = new FuncBuilder(new Array(8).fill(I32));
  const [x, h, w, c, ow, out, r0, r1] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [oy, ox, y, y1, xx, x1, q, cb, dst, src] = Array.from({ length: 10 }, () => f.local(I32));
  const m = f.local(V128);
  const min = (a: () => void, b: number) => {
    a();
    f.get(b);
    a();
    f.get(b).ltU().op(SELECT);
  };
  f.get(c).i32(2).shl().set(cb);
  f.get(out).get(r0).get(ow).mul().get(cb).mul().add().set(dst);
  f.get(r0).set(oy);
  f.while(() => f.get(oy).get(r1).ltU(), () => {
    min(() => f.get(oy).i32(1).shl().i32(3).add(), h);
    f.set(y1);
    f.i32(0).set(ox);
    f.while(() => f.get(ox).get(ow).ltU(), () => {
      min(() => f.get(ox).i32(1).shl().i32(3).add(), w);
      f.set(x1);
      f.chunks(q, cb, () => {
        // The window's first tap (always inside), then the max with the others.
        f.get(x).get(oy).i32(1).shl().get(w).mul().get(ox).i32(1).shl().add().get(cb).mul().add().get(q).add().v128Load().set(m);
        f.get(oy).i32(1).shl().set(y);
        f.while(() => f.get(y).get(y1).ltU(), () => {
          f.get(ox).i32(1).shl().set(xx);
          f.while(() => f.get(xx).get(x1).ltU(), () => {
            f.get(x).get(y).get(w).mul().get(xx).add().get(cb).mul().add().get(q).add().set(src);
            f.get(m).get(src).v128Load().f32x4Pmax().set(m);
            f.get(xx).i32(1).add().set(xx);
          });
          f.get(y).i32(1).add().set(y);
        });
        f.get(dst).get(q).add().get(m).v128Store();
      });
      f.get(dst).get(cb).add().set(dst);
      f.get(ox).i32(1).add().set(ox);
    });
    f.get(oy).i32(1).add().set(oy);
  });
  return f;
}

export function emitMaxPoolBack(): FuncBuilder {
  const f = new FuncBuilder(new Array(8).fill(I32));
  const [x, h, c, s, off, o, g, dx] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [oy, ox, y, y0, y1, xx, x0, x1, q, cb, tap, go, addr] = Array.from({ length: 13 }, () => f.local(I32));
  const [m, v, gt, idx, gv] = Array.from({ length: 5 }, () => f.local(V128));
  /** lo = max(0, i s - off), hi = min(h, i s - off + 3) for the local i. */
  const window = (i: number, lo: number, hi: number) => {
    f.get(i).get(s).mul().get(off).op(SUB).set(lo);
    f.i32(0).get(lo).get(lo).i32(0).op(LT_S).op(SELECT).set(lo);
    f.get(i).get(s).mul().get(off).op(SUB).i32(3).add().set(hi);
    f.get(hi).get(h).get(hi).get(h).op(LT_S).op(SELECT).set(hi);
  };
  f.get(c).i32(2).shl().set(cb);
  f.get(g).set(go);
  f.i32(0).set(oy);
  f.while(() => f.get(oy).get(o).ltU(), () => {
    window(oy, y0, y1);
    f.i32(0).set(ox);
    f.while(() => f.get(ox).get(o).ltU(), () => {
      window(ox, x0, x1);
      f.chunks(q, cb, () => {
        // The first tap, then every tap (the first again: not larger than itself) replacing a smaller maximum.
        f.get(y0).get(h).mul().get(x0).add().get(cb).mul().set(tap);
        f.get(x).get(tap).add().get(q).add().v128Load().set(m);
        f.get(tap).i32x4Splat().set(idx);
        f.get(y0).set(y);
        f.while(() => f.get(y).get(y1).ltU(), () => {
          f.get(x0).set(xx);
          f.while(() => f.get(xx).get(x1).ltU(), () => {
            f.get(y).get(h).mul().get(xx).add().get(cb).mul().set(tap);
            f.get(x).get(tap).add().get(q).add().v128Load().set(v);
            f.get(v).get(m).f32x4Gt().set(gt);
            f.get(v).get(m).get(gt).v128Bitselect().set(m);
            f.get(tap).i32x4Splat().get(idx).get(gt).v128Bitselect().set(idx);
            f.get(xx).i32(1).add().set(xx);
          });
          f.get(y).i32(1).add().set(y);
        });
        f.get(go).get(q).add().v128Load().set(gv);
        for (let lane = 0; lane < 4; lane++) {
          f.get(dx).get(idx).i32x4Lane(lane).add().get(q).add().set(addr);
          f.get(addr).get(addr).f32Load(4 * lane).get(gv).f32x4Lane(lane).f32Add().f32Store(4 * lane);
        }
      });
      f.get(go).get(cb).add().set(go);
      f.get(ox).i32(1).add().set(ox);
    });
    f.get(oy).i32(1).add().set(oy);
  });
  return f;
}

export function emitCol2imAdd(): FuncBuilder {
  const f = new FuncBuilder(new Array(9).fill(I32));
  const [dcol, ld, dx, h, c, k, s, pad, o] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [oy, ox, ky, iy, ix0, lz, rz, mid, row, src, dst, q, n, cb, ldB] = Array.from({ length: 15 }, () => f.local(I32));
  f.get(c).i32(2).shl().set(cb);
  f.get(ld).i32(2).shl().set(ldB);
  f.get(dcol).set(row);
  f.i32(0).set(oy);
  f.while(() => f.get(oy).get(o).ltU(), () => {
    f.i32(0).set(ox);
    f.while(() => f.get(ox).get(o).ltU(), () => {
      f.get(ox).get(s).mul().get(pad).op(SUB).set(ix0);
      // Taps clipped on the left (lz) and right (rz): the run between them is contiguous in both.
      f.i32(0).get(ix0).op(SUB).i32(0).i32(0).get(ix0).op(SUB).i32(0).op(GT_S).op(SELECT).set(lz);
      f.get(ix0).get(k).add().get(h).op(SUB).set(rz);
      f.get(rz).i32(0).get(rz).i32(0).op(GT_S).op(SELECT).set(rz);
      f.get(k).get(lz).op(SUB).get(rz).op(SUB).set(mid);
      f.get(mid).i32(0).op(GT_S).ifElse(() => {
        f.get(mid).get(cb).mul().set(n);
        f.i32(0).set(ky);
        f.while(() => f.get(ky).get(k).ltU(), () => {
          f.get(oy).get(s).mul().get(pad).op(SUB).get(ky).add().set(iy);
          f.get(iy).get(h).ltU().ifElse(() => {
            f.get(row).get(ky).get(k).mul().get(lz).add().get(cb).mul().add().set(src);
            f.get(dx).get(iy).get(h).mul().get(ix0).add().get(lz).add().get(cb).mul().add().set(dst);
            f.chunks(q, n, () => {
              f.get(dst).get(q).add();
              f.get(dst).get(q).add().v128Load().get(src).get(q).add().v128Load().f32x4Add();
              f.v128Store();
            });
          });
          f.get(ky).i32(1).add().set(ky);
        });
      });
      f.get(row).get(ldB).add().set(row);
      f.get(ox).i32(1).add().set(ox);
    });
    f.get(oy).i32(1).add().set(oy);
  });
  return f;
}
