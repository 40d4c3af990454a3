import { F32, F64, FuncBuilder, I32, type Local } from './emit';
import { kernel, type ParamsOf } from './kernelSpec';

/*
 * The flow step's glue between its products and couplings: the permutations into and out of each block,
 * the clip of each block's output and its gradient mask, the sums of the log-scales and the first gradient.
 * In JavaScript they were 11 ms of a 58 ms step (two million float accesses through a Float32Array); here
 * they are plain scalar loops over the same memory, computing the very same floats (float64 where the
 * JavaScript summed or scaled in float64), so training follows the same trajectory bit for bit.
 *
 * Pointers are byte offsets; strides and counts are floats. For rows r < rows and i < n:
 *   gather(src, ss, idx, n, dst, ds, rows):   dst[r ds + i] = src[r ss + idx[i]]  (idx: int32s)
 *   scatter(src, ss, idx, n, dst, ds, rows):  dst[r ds + idx[i]] = src[r ss + i]
 *   clipCopy(src, ss, dst, ds, n, rows, c):   dst[r ds + i] = min(max(src[r ss + i], -c), c)  (NaN stays NaN)
 *   maskCopy(y, ys, g, gs, dst, ds, n, rows, c): dst[r ds + i] = -c <= y[r ys + i] <= c ? g[r gs + i] : 0
 *   addTo(dst, src, n):                        dst[i] += src[i]
 *   rowSums(x, l, rows, out):                  out[r] += sum over i < l of x[r l + i], in float64, in order (out: float64s)
 *   scaleCopy(src, dst, n, scale):             dst[i] = float32(float64(src[i]) * scale)
 */

/** for (r = 0; r < rows; r++) for (i = 0; i < n; i++) body(r, i) with locals r and i. */
function rowsByN(f: FuncBuilder, rows: Local<I32>, n: Local<I32>, body: (r: Local<I32>, i: Local<I32>) => void): void {
  const r = f.local(I32, 'r');
  const i = f.local(I32, 'i');
  f.i32(0).set(r);
  f.while(() => f.get(r).get(rows).ltU(), () => {
    f.i32(0).set(i);
    f.while(() => f.get(i).get(n).ltU(), () => {
      body(r, i);
      f.get(i).i32(1).add().set(i);
    });
    f.get(r).i32(1).add().set(r);
  });
}

/** Pushes the byte address base + 4 (r stride + i). */
function at(f: FuncBuilder, base: Local<I32>, r: Local<I32>, stride: Local<I32>, i: () => void): FuncBuilder {
  f.get(base).get(r).get(stride).mul();
  i();
  return f.add().i32(2).shl().add();
}

const GATHER = ['src', 'ss', 'idx', 'n', 'dst', 'ds', 'rows'] as const;

export const gather = kernel({
  params: GATHER,
  emit: emitGather,
});

function emitGather(f: FuncBuilder, { src, ss, idx, n, dst, ds, rows }: ParamsOf<typeof GATHER>): void {
  rowsByN(f, rows, n, (r, i) => {
    at(f, dst, r, ds, () => f.get(i));
    at(f, src, r, ss, () => f.get(idx).get(i).i32(2).shl().add().i32Load());
    f.f32Load().f32Store();
  });
}

const SCATTER = ['src', 'ss', 'idx', 'n', 'dst', 'ds', 'rows'] as const;

export const scatter = kernel({
  params: SCATTER,
  emit: emitScatter,
});

function emitScatter(f: FuncBuilder, { src, ss, idx, n, dst, ds, rows }: ParamsOf<typeof SCATTER>): void {
  rowsByN(f, rows, n, (r, i) => {
    at(f, dst, r, ds, () => f.get(idx).get(i).i32(2).shl().add().i32Load());
    at(f, src, r, ss, () => f.get(i)).f32Load();
    f.f32Store();
  });
}

const CLIP_COPY = ['src', 'ss', 'dst', 'ds', 'n', 'rows', 'c:f32'] as const;

export const clipCopy = kernel({
  params: CLIP_COPY,
  emit: emitClipCopy,
});

function emitClipCopy(f: FuncBuilder, { src, ss, dst, ds, n, rows, c }: ParamsOf<typeof CLIP_COPY>): void {
  rowsByN(f, rows, n, (r, i) => {
    at(f, dst, r, ds, () => f.get(i));
    at(f, src, r, ss, () => f.get(i)).f32Load();
    f.get(c).f32Neg().f32Max().get(c).f32Min().f32Store();
  });
}

const MASK_COPY = ['y', 'ys', 'g', 'gs', 'dst', 'ds', 'n', 'rows', 'c:f32'] as const;

export const maskCopy = kernel({
  params: MASK_COPY,
  emit: emitMaskCopy,
});

function emitMaskCopy(f: FuncBuilder, { y, ys, g, gs, dst, ds, n, rows, c }: ParamsOf<typeof MASK_COPY>): void {
  const v = f.local(F32, 'v');
  rowsByN(f, rows, n, (r, i) => {
    at(f, dst, r, ds, () => f.get(i));
    at(f, g, r, gs, () => f.get(i)).f32Load();
    f.f32Const(0);
    at(f, y, r, ys, () => f.get(i)).f32Load().set(v);
    f.get(v).get(c).f32Neg().f32Ge().get(v).get(c).f32Le().and();
    f.select().f32Store();
  });
}

const ADD_TO = ['dst', 'src', 'n'] as const;

export const addTo = kernel({
  params: ADD_TO,
  emit: emitAddTo,
});

function emitAddTo(f: FuncBuilder, { dst, src, n }: ParamsOf<typeof ADD_TO>): void {
  const q = f.local(I32, 'q');
  const end = f.local(I32, 'end');
  f.get(n).i32(2).shl().set(end);
  f.chunks(q, end, () => {
    f.get(dst).get(q).add();
    f.get(dst).get(q).add().f32Load().get(src).get(q).add().f32Load().f32Add();
    f.f32Store();
  }, 4);
}

const ROW_SUMS = ['x', 'l', 'rows', 'out'] as const;

export const rowSums = kernel({
  params: ROW_SUMS,
  emit: emitRowSums,
});

function emitRowSums(f: FuncBuilder, { x, l, rows, out }: ParamsOf<typeof ROW_SUMS>): void {
  const r = f.local(I32, 'r');
  const i = f.local(I32, 'i');
  const s = f.local(F64, 's');
  f.i32(0).set(r);
  f.while(() => f.get(r).get(rows).ltU(), () => {
    f.f64Const(0).set(s);
    f.i32(0).set(i);
    f.while(() => f.get(i).get(l).ltU(), () => {
      f.get(s);
      at(f, x, r, l, () => f.get(i)).f32Load().f64PromoteF32().f64Add().set(s);
      f.get(i).i32(1).add().set(i);
    });
    f.get(out).get(r).i32(3).shl().add();
    f.get(out).get(r).i32(3).shl().add().f64Load().get(s).f64Add().f64Store();
    f.get(r).i32(1).add().set(r);
  });
}

const SCALE_COPY = ['src', 'dst', 'n', 'scale:f64'] as const;

export const scaleCopy = kernel({
  params: SCALE_COPY,
  emit: emitScaleCopy,
});

function emitScaleCopy(f: FuncBuilder, { src, dst, n, scale }: ParamsOf<typeof SCALE_COPY>): void {
  const q = f.local(I32, 'q');
  const end = f.local(I32, 'end');
  f.get(n).i32(2).shl().set(end);
  f.chunks(q, end, () => {
    f.get(dst).get(q).add();
    f.get(src).get(q).add().f32Load().f64PromoteF32().get(scale).f64Mul().f32DemoteF64().f32Store();
  }, 4);
}
