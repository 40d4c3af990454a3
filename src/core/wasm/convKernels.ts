import { FuncBuilder, I32, V128, type Local } from './emit';
import { channelGroups, kernel, ordered, positive, rangeSplit, type ParamsOf } from './kernelSpec';

/*
 * The two non-product steps of a frozen CNN's forward pass, so that the backbone can run on the products of
 * productKernels.ts (backbones/hostBackbone.ts): the patch matrix of a convolution (im2col) and the 3x3 / stride 2 max
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

const IM2COL = ['x', 'h', 'w', 'c', 'k', 's', 'pad', 'ow', 'out', 'r0', 'r1'] as const;

export const im2col = kernel({
  params: IM2COL,
  // With c not a multiple of 4 a run's last copy spills into the next output row's bytes, which another
  // thread may already have written.
  split: { ...rangeSplit('r0', 'r1'), whole: (a) => a.c % 4 !== 0 },
  rules: [positive('k'), positive('s'), ordered('r0', 'r1')],
  emit: emitIm2col,
});

function emitIm2col(f: FuncBuilder, { x, h, w, c, k, s, pad, ow, out, r0, r1 }: ParamsOf<typeof IM2COL>): void {
  const [oy, ox, ky, iy, ix0, lz, rz, mid, dst, src, q, n, cb, runB] = f.localsOf(I32, 'oy', 'ox', 'ky', 'iy', 'ix0', 'lz', 'rz', 'mid', 'dst', 'src', 'q', 'n', 'cb', 'runB');
  const zero = f.local(V128, 'zero');
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
      f.get(ox).get(s).mul().get(pad).sub().set(ix0);
      // Taps clipped on the left (lz) and right (rz), and the run between them.
      f.i32(0).get(ix0).sub().i32(0).i32(0).get(ix0).sub().i32(0).gtS().select().set(lz);
      f.get(ix0).get(k).add().get(w).sub().set(rz);
      f.get(rz).i32(0).get(rz).i32(0).gtS().select().set(rz);
      f.get(k).get(lz).sub().get(rz).sub().set(mid);
      // Only a padding as wide as the kernel could clip more taps than there are.
      f.get(mid).i32(0).ltS().ifElse(() => {
        f.i32(0).set(mid);
        f.get(k).get(lz).sub().set(rz);
      });
      f.i32(0).set(ky);
      f.while(() => f.get(ky).get(k).ltU(), () => {
        f.get(oy).get(s).mul().get(pad).sub().get(ky).add().set(iy);
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
}

const MAX_POOL = ['x', 'h', 'w', 'c', 'ow', 'out', 'r0', 'r1'] as const;

export const maxPool = kernel({
  params: MAX_POOL,
  split: rangeSplit('r0', 'r1'),
  rules: [channelGroups('c'), ordered('r0', 'r1')],
  emit: emitMaxPool,
});

function emitMaxPool(f: FuncBuilder, { x, h, w, c, ow, out, r0, r1 }: ParamsOf<typeof MAX_POOL>): void {
  const [oy, ox, y, y1, xx, x1, q, cb, dst, src] = f.localsOf(I32, 'oy', 'ox', 'y', 'y1', 'xx', 'x1', 'q', 'cb', 'dst', 'src');
  const m = f.local(V128, 'm');
  const min = (a: () => void, b: Local<I32>) => {
    a();
    f.get(b);
    a();
    f.get(b).ltU().select();
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
}

const MAX_POOL_BACK = ['x', 'h', 'c', 's', 'off', 'o', 'g', 'dx'] as const;

export const maxPoolBack = kernel({
  params: MAX_POOL_BACK,
  // Overlapping windows would have threads add into the same pixels.
  rules: [
    channelGroups('c'),
    (a) => ((a.s === 2 && a.off === 0) || (a.s === 1 && a.off === 1) ? undefined : `stride and offset must be 2 and 0, or 1 and 1, not ${a.s} and ${a.off}`),
  ],
  emit: emitMaxPoolBack,
});

function emitMaxPoolBack(f: FuncBuilder, { x, h, c, s, off, o, g, dx }: ParamsOf<typeof MAX_POOL_BACK>): void {
  const [oy, ox, y, y0, y1, xx, x0, x1, q, cb, tap, go, addr] = f.localsOf(I32, 'oy', 'ox', 'y', 'y0', 'y1', 'xx', 'x0', 'x1', 'q', 'cb', 'tap', 'go', 'addr');
  const [m, v, gt, idx, gv] = f.localsOf(V128, 'm', 'v', 'gt', 'idx', 'gv');
  /** lo = max(0, i s - off), hi = min(h, i s - off + 3) for the local i. */
  const window = (i: Local<I32>, lo: Local<I32>, hi: Local<I32>) => {
    f.get(i).get(s).mul().get(off).sub().set(lo);
    f.i32(0).get(lo).get(lo).i32(0).ltS().select().set(lo);
    f.get(i).get(s).mul().get(off).sub().i32(3).add().set(hi);
    f.get(hi).get(h).get(hi).get(h).ltS().select().set(hi);
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
}

const COL2IM_ADD = ['dcol', 'ld', 'dx', 'h', 'c', 'k', 's', 'pad', 'o'] as const;

export const col2imAdd = kernel({
  params: COL2IM_ADD,
  // Patches overlap: one thread.
  rules: [channelGroups('c'), positive('k'), positive('s')],
  emit: emitCol2imAdd,
});

function emitCol2imAdd(f: FuncBuilder, { dcol, ld, dx, h, c, k, s, pad, o }: ParamsOf<typeof COL2IM_ADD>): void {
  const [oy, ox, ky, iy, ix0, lz, rz, mid, row, src, dst, q, n, cb, ldB] = f.localsOf(I32, 'oy', 'ox', 'ky', 'iy', 'ix0', 'lz', 'rz', 'mid', 'row', 'src', 'dst', 'q', 'n', 'cb', 'ldB');
  f.get(c).i32(2).shl().set(cb);
  f.get(ld).i32(2).shl().set(ldB);
  f.get(dcol).set(row);
  f.i32(0).set(oy);
  f.while(() => f.get(oy).get(o).ltU(), () => {
    f.i32(0).set(ox);
    f.while(() => f.get(ox).get(o).ltU(), () => {
      f.get(ox).get(s).mul().get(pad).sub().set(ix0);
      // Taps clipped on the left (lz) and right (rz): the run between them is contiguous in both.
      f.i32(0).get(ix0).sub().i32(0).i32(0).get(ix0).sub().i32(0).gtS().select().set(lz);
      f.get(ix0).get(k).add().get(h).sub().set(rz);
      f.get(rz).i32(0).get(rz).i32(0).gtS().select().set(rz);
      f.get(k).get(lz).sub().get(rz).sub().set(mid);
      f.get(mid).i32(0).gtS().ifElse(() => {
        f.get(mid).get(cb).mul().set(n);
        f.i32(0).set(ky);
        f.while(() => f.get(ky).get(k).ltU(), () => {
          f.get(oy).get(s).mul().get(pad).sub().get(ky).add().set(iy);
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
}
