import { FuncBuilder, I32, V128 } from './emit';
import { channelGroups, kernel, ordered, rangeSplit, type ParamsOf } from './kernelSpec';

/*
 * GoogLeNet's two ops besides its products and stride-2 pools (backbones/hostBackbone.ts): the LRN across
 * channels after pool1 and conv2, and the 3x3 stride-1 max pool that opens each inception's fourth branch.
 * On one thread as plain JavaScript they took a fifth of a 224 px forward; here they are SIMD and split
 * across the helper threads like the products. Both read NHWC float32 images whose channels come in whole
 * groups of 4 (GoogLeNet's counts are multiples of 16), and write every output float exactly once, so
 * threads may split them by pixels or rows with no overlap.
 *
 *   lrn(x, out, ch, p0, p1, k, scale):
 *     Caffe's LRN of size 5 and beta 0.75 across channels for pixels p0 <= p < p1:
 *     out = x (k + scale * sum of x^2 over channels c-2..c+2 inside [0, ch))^-0.75, scale = alpha / size.
 *     s^-0.75 is 1 / (sqrt(s) sqrt(sqrt(s))). Reads 8 bytes before x's first pixel and after its last (those
 *     lanes are masked off, but the addresses must lie in memory: x >= 8).
 *   maxPoolSame(x, h, w, c, out, r0, r1):
 *     out(y, x) = max over the 3x3 window at (y, x) clipped to the image, for output rows r0 <= y < r1:
 *     a stride-1 pool whose padding never wins (Caffe's pad 1, TF's 'same'). Separable: per 16-byte group
 *     of channels, the column maxima slide along the row, so each output costs three loads, not nine.
 */

const LRN = ['x', 'out', 'ch', 'p0', 'p1', 'k:f32', 'scale:f32'] as const;

export const lrn = kernel({
  params: LRN,
  split: rangeSplit('p0', 'p1'),
  rules: [
    channelGroups('ch'),
    (a) => (a.x >= 8 ? undefined : `the LRN reads 8 bytes before its input, which must start at byte 8 or later, not ${a.x}`),
    ordered('p0', 'p1'),
  ],
  emit: emitLrn,
});

function emitLrn(f: FuncBuilder, { x, out, ch, p0, p1, k: kParam, scale: scaleParam }: ParamsOf<typeof LRN>): void {
  const [p, cb, row, orow, q, last, base] = f.localsOf(I32, 'p', 'cb', 'row', 'orow', 'q', 'last', 'base');
  const [k, scale, sum, v, s, r, chs] = f.localsOf(V128, 'k', 'scale', 'sum', 'v', 's', 'r', 'chs');
  f.get(kParam).f32x4Splat().set(k);
  f.get(scaleParam).f32x4Splat().set(scale);
  f.get(ch).i32x4Splat().set(chs);
  f.get(ch).i32(2).shl().set(cb);
  f.get(cb).i32(16).sub().set(last); // the last group's byte offset

  /**
   * Channels q / 4 .. q / 4 + 3 of the pixel at `row`. `masked`: the group at an end, whose window reaches
   * past channel 0 or ch - 1; those lanes count zero.
   */
  const group = (masked: boolean) => {
    f.get(row).get(q).add().i32(8).sub().set(base);
    f.v128Zero().set(sum);
    for (let j = 0; j < 5; j++) {
      f.get(base).v128Load(4 * j).set(v);
      if (masked) {
        // Channel of each lane: q / 4 - 2 + j + lane; in range when below ch as an unsigned number.
        f.get(v).get(q).i32(2).shrU().i32(j - 2).add().i32x4Splat().i32x4Lanes([0, 1, 2, 3]).i32x4Add().get(chs).i32x4LtU().v128And().set(v);
      }
      f.get(v).get(v).f32x4Mul().get(sum).f32x4Add().set(sum);
    }
    f.get(k).get(scale).get(sum).f32x4Mul().f32x4Add().set(s);
    f.get(s).f32x4Sqrt().set(r);
    f.get(orow).get(q).add();
    f.get(base).v128Load(8).get(r).get(r).f32x4Sqrt().f32x4Mul().f32x4Div();
    f.v128Store();
  };

  f.get(p0).set(p);
  f.while(() => f.get(p).get(p1).ltU(), () => {
    f.get(x).get(p).get(cb).mul().add().set(row);
    f.get(out).get(p).get(cb).mul().add().set(orow);
    f.i32(0).set(q);
    group(true);
    f.i32(16).set(q);
    f.while(() => f.get(q).get(last).ltU(), () => {
      group(false);
      f.get(q).i32(16).add().set(q);
    });
    // With 4 channels the first group was the last.
    f.get(last).ifElse(() => {
      f.get(last).set(q);
      group(true);
    });
    f.get(p).i32(1).add().set(p);
  });
}

const MAX_POOL_SAME = ['x', 'h', 'w', 'c', 'out', 'r0', 'r1'] as const;

export const maxPoolSame = kernel({
  params: MAX_POOL_SAME,
  split: rangeSplit('r0', 'r1'),
  rules: [channelGroups('c'), ordered('r0', 'r1')],
  emit: emitMaxPoolSame,
});

function emitMaxPoolSame(f: FuncBuilder, { x, h, w, c, out, r0, r1 }: ParamsOf<typeof MAX_POOL_SAME>): void {
  const [oy, ox, q, cb, rowB, up, down, at, dst, wLast] = f.localsOf(I32, 'oy', 'ox', 'q', 'cb', 'rowB', 'up', 'down', 'at', 'dst', 'wLast');
  const [prev, cur, next] = [f.local(V128), f.local(V128), f.local(V128)];
  /** The maximum over the column at byte address `at` and the rows above and below it (those inside). */
  const column = (offset: number) => {
    f.get(at).get(up).sub().v128Load(offset);
    f.get(at).v128Load(offset).f32x4Pmax();
    f.get(at).get(down).add().v128Load(offset).f32x4Pmax();
  };
  f.get(c).i32(2).shl().set(cb);
  f.get(w).get(cb).mul().set(rowB);
  f.get(w).i32(1).sub().set(wLast);
  f.get(r0).set(oy);
  f.while(() => f.get(oy).get(r1).ltU(), () => {
    // Row offsets to the rows above and below; 0 at the image's edges, where the window is clipped.
    f.get(rowB).i32(0).get(oy).select().set(up); // select: oy > 0 ? rowB : 0
    f.get(rowB).i32(0).get(oy).i32(1).add().get(h).ltU().select().set(down);
    f.i32(0).set(q);
    f.while(() => f.get(q).get(cb).ltU(), () => {
      f.get(x).get(oy).get(rowB).mul().add().get(q).add().set(at);
      f.get(out).get(oy).get(rowB).mul().add().get(q).add().set(dst);
      column(0);
      f.set(cur);
      f.get(cur).set(prev);
      f.i32(0).set(ox);
      f.while(() => f.get(ox).get(w).ltU(), () => {
        f.get(ox).get(wLast).ltU().ifElse(
          () => {
            f.get(at).get(cb).add().set(at);
            column(0);
            f.set(next);
          },
          () => f.get(cur).set(next),
        );
        f.get(dst).get(prev).get(cur).f32x4Pmax().get(next).f32x4Pmax().v128Store();
        f.get(cur).set(prev);
        f.get(next).set(cur);
        f.get(dst).get(cb).add().set(dst);
        f.get(ox).i32(1).add().set(ox);
      });
      f.get(q).i32(16).add().set(q);
    });
    f.get(oy).i32(1).add().set(oy);
  });
}
