import { FuncBuilder, I32, V128, type Local } from './emit';
import { kernel, multipleOf, ordered, rangeSplit, type ParamsOf } from './kernelSpec';
import { SOFT_CLAMP_FACTOR } from '../flow/config';

/*
 * The elementwise half of an affine coupling in WebAssembly SIMD: the soft clamp's atan, the exp of the
 * log-scales, and their backward pass. In JavaScript (Math.atan, Math.exp per float), with the ReLU masks and
 * bias sums now also kernels, they took about a third of a training step; here they run four floats at a
 * time, split by rows across the flow's threads.
 *
 * atan and exp are Cephes' single-precision polynomials (atanf.c, expf.c: range reduction, then an odd
 * polynomial of degree 9 for atan and one of degree 7 for exp; about 2 ulp in float32), the same class of approximation as the SLEEF/glibc
 * float32 routines PyTorch runs for torch.atan and torch.exp. exp is valid for |x| < 87, i.e. a soft
 * clamp below 87 (the paper's is 3); hostFlowSupported checks it.
 *
 * Pointers are byte offsets; l (floats per row of x) is a multiple of 4; o and dO rows hold 2l floats.
 *
 *   affine(o, x, ls, e, y, l, r0, r1, c, k), rows r0 <= r < r1:
 *     ls = k atan(s / c), e = exp(ls), y = e x + t, with [s, t] = o's row.
 *   affineBack(dy, e, x, o, dO, dx, l, r0, r1, c, g):
 *     dO's row = [(dy e x + g) SOFT_CLAMP_FACTOR / (1 + (s / c)^2), dy], dx = dy e; g is dLoss/d(log|det J|).
 *   reluMask(h, d, n): d = h > 0 ? d : 0 over n floats (n a multiple of 4).
 */

export const AFFINE_MAX_CLAMP = 87;

/** Pushes atan(x) of the v128 in local `x`; `t` are 6 v128 scratch locals. */
function atan(f: FuncBuilder, x: Local<V128>, t: Local<V128>[]): void {
  const [ax, sign, big, mid, xr, z] = t;
  f.get(x).f32x4Abs().set(ax);
  f.get(x).i32x4Const(-0x80000000).v128And().set(sign);
  f.get(ax).f32x4Const(2.414213562373095).f32x4Gt().set(big); // tan(3 pi / 8)
  f.get(ax).f32x4Const(0.414213562373095).f32x4Gt().set(mid); // tan(pi / 8)
  // Reduced argument: -1/|x| above tan(3 pi/8), (|x| - 1)/(|x| + 1) above tan(pi/8), |x| below.
  f.f32x4Const(-1).get(ax).f32x4Div();
  f.get(ax).f32x4Const(1).f32x4Sub().get(ax).f32x4Const(1).f32x4Add().f32x4Div();
  f.get(ax).get(mid).v128Bitselect();
  f.get(big).v128Bitselect().set(xr);
  f.get(xr).get(xr).f32x4Mul().set(z);
  // y0 + ((((p0 z + p1) z + p2) z + p3) z xr + xr), y0 = pi/2, pi/4 or 0.
  f.f32x4Const(Math.PI / 2).f32x4Const(Math.PI / 4).f32x4Const(0).get(mid).v128Bitselect().get(big).v128Bitselect();
  f.f32x4Const(8.05374449538e-2).get(z).f32x4Mul().f32x4Const(-1.38776856032e-1).f32x4Add();
  f.get(z).f32x4Mul().f32x4Const(1.99777106478e-1).f32x4Add();
  f.get(z).f32x4Mul().f32x4Const(-3.33329491539e-1).f32x4Add();
  f.get(z).f32x4Mul().get(xr).f32x4Mul().get(xr).f32x4Add();
  f.f32x4Add().get(sign).v128Or();
}

/** Pushes exp(x) of the v128 in local `x`; `t` are 2 v128 scratch locals. */
function exp(f: FuncBuilder, x: Local<V128>, t: Local<V128>[]): void {
  const [n, r] = t;
  f.get(x).f32x4Const(Math.LOG2E).f32x4Mul().f32x4Nearest().set(n);
  // r = x - n ln 2, with ln 2 split in two (C1 + C2) so that n C1 is exact.
  f.get(x).get(n).f32x4Const(0.693359375).f32x4Mul().f32x4Sub().get(n).f32x4Const(-2.12194440e-4).f32x4Mul().f32x4Sub().set(r);
  f.f32x4Const(1.9875691500e-4).get(r).f32x4Mul().f32x4Const(1.3981999507e-3).f32x4Add();
  for (const p of [8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]) f.get(r).f32x4Mul().f32x4Const(p).f32x4Add();
  f.get(r).f32x4Mul().get(r).f32x4Mul().get(r).f32x4Add().f32x4Const(1).f32x4Add();
  // times 2^n, built in the exponent bits.
  f.get(n).i32x4TruncSatF32x4S().i32x4Const(127).i32x4Add().i32(23).i32x4Shl();
  f.f32x4Mul();
}

/** Pushes the address of the current chunk in an array of rows: base + row offset + q. */
type ChunkAt = (base: Local<I32>, wide?: boolean) => FuncBuilder;

/**
 * for (r = r0; r < r1; r++) for (q = 0; q < lb; q += 16) body(at): a loop over rows and 16-byte chunks, lb
 * (a local) the bytes of a row of l floats; `at` addresses rows of l floats, or of 2l when `wide`.
 */
function rowLoop(f: FuncBuilder, lb: Local<I32>, r0: Local<I32>, r1: Local<I32>, body: (at: ChunkAt) => void): void {
  const r = f.local(I32, 'r');
  const q = f.local(I32, 'q');
  const rb = f.local(I32, 'rb');
  const rb2 = f.local(I32, 'rb2');
  const at: ChunkAt = (base, wide = false) => f.get(base).get(wide ? rb2 : rb).add().get(q).add();
  f.get(r0).set(r);
  f.while(
    () => f.get(r).get(r1).ltU(),
    () => {
      f.get(r).get(lb).mul().set(rb);
      f.get(rb).i32(1).shl().set(rb2);
      f.chunks(q, lb, () => body(at));
      f.get(r).i32(1).add().set(r);
    },
  );
}

const AFFINE = ['o', 'x', 'ls', 'e', 'y', 'l', 'r0', 'r1', 'c:f32', 'k:f32'] as const;

export const affine = kernel({
  params: AFFINE,
  split: rangeSplit('r0', 'r1'),
  rules: [multipleOf('l', 4, 'rows are read 4 floats at a time'), ordered('r0', 'r1')],
  emit: emitAffine,
});

function emitAffine(f: FuncBuilder, { o, x, ls, e, y, l, r0, r1, c, k }: ParamsOf<typeof AFFINE>): void {
  const cv = f.local(V128, 'cv');
  const kv = f.local(V128, 'kv');
  const sv = f.local(V128, 'sv');
  const lsv = f.local(V128, 'lsv');
  const ev = f.local(V128, 'ev');
  const tmp = Array.from({ length: 6 }, () => f.local(V128));
  const lb = f.local(I32, 'lb');
  f.get(c).f32x4Splat().set(cv);
  f.get(k).f32x4Splat().set(kv);
  f.get(l).i32(2).shl().set(lb);
  rowLoop(f, lb, r0, r1, (at) => {
    at(o, true).v128Load().get(cv).f32x4Div().set(sv);
    atan(f, sv, tmp);
    f.get(kv).f32x4Mul().set(lsv);
    exp(f, lsv, tmp);
    f.set(ev);
    at(ls).get(lsv).v128Store();
    at(e).get(ev).v128Store();
    at(y).get(ev);
    at(x).v128Load().f32x4Mul();
    at(o, true).get(lb).add().v128Load().f32x4Add();
    f.v128Store();
  });
}

const AFFINE_BACK = ['dy', 'e', 'x', 'o', 'dO', 'dx', 'l', 'r0', 'r1', 'c:f32', 'g:f32'] as const;

export const affineBack = kernel({
  params: AFFINE_BACK,
  split: rangeSplit('r0', 'r1'),
  rules: [multipleOf('l', 4, 'rows are read 4 floats at a time'), ordered('r0', 'r1')],
  emit: emitAffineBack,
});

function emitAffineBack(f: FuncBuilder, { dy, e, x, o, dO, dx, l, r0, r1, c, g }: ParamsOf<typeof AFFINE_BACK>): void {
  const cv = f.local(V128, 'cv');
  const gv = f.local(V128, 'gv');
  const dyv = f.local(V128, 'dyv');
  const ev = f.local(V128, 'ev');
  const sv = f.local(V128, 'sv');
  const lb = f.local(I32, 'lb');
  f.get(c).f32x4Splat().set(cv);
  f.get(g).f32x4Splat().set(gv);
  f.get(l).i32(2).shl().set(lb);
  rowLoop(f, lb, r0, r1, (at) => {
    at(dy).v128Load().set(dyv);
    at(e).v128Load().set(ev);
    at(o, true).v128Load().get(cv).f32x4Div().set(sv);
    at(dO, true).get(dyv).get(ev).f32x4Mul();
    at(x).v128Load().f32x4Mul().get(gv).f32x4Add().f32x4Const(SOFT_CLAMP_FACTOR).f32x4Mul();
    f.get(sv).get(sv).f32x4Mul().f32x4Const(1).f32x4Add().f32x4Div();
    f.v128Store();
    at(dO, true).get(lb).add().get(dyv).v128Store();
    at(dx).get(dyv).get(ev).f32x4Mul().v128Store();
  });
}

const RELU_MASK = ['h', 'd', 'n'] as const;

export const reluMask = kernel({
  params: RELU_MASK,
  // A few microseconds, less than a hand-off: one thread.
  rules: [multipleOf('n', 4, 'whole groups of 4 floats')],
  emit: emitReluMask,
});

function emitReluMask(f: FuncBuilder, { h, d, n }: ParamsOf<typeof RELU_MASK>): void {
  const q = f.local(I32, 'q');
  const end = f.local(I32, 'end');
  f.get(n).i32(2).shl().set(end);
  f.chunks(q, end, () => {
    f.get(d).get(q).add();
    f.get(d).get(q).add().v128Load();
    f.get(h).get(q).add().v128Load().v128Zero().f32x4Gt().v128And();
    f.v128Store();
  });
}
