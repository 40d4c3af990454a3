import { FuncBuilder, I32, V128, type Local } from './emit';
import { kernel, multipleOf, rangeSplit, type KernelFlavour, type ParamsOf } from './kernelSpec';

/*
 * Two single-precision matrix products in WebAssembly SIMD: the flow's arithmetic that is not elementwise
 * (its elementwise kernels, in couplingKernels.ts, share this module) and the backbone's convolutions
 * (backbones/hostBackbone.ts, with convKernels.ts). TF.js's WASM backend runs a matMul on one thread and repacks its
 * right operand whenever that tensor is new, which during training is every call; these kernels read both
 * operands in place and are split across threads that share one memory (the flow's by output columns, the
 * convolutions' by rows).
 *
 * Pointers are byte offsets into the memory; strides and sizes count floats. The shape rules below are
 * the entries' `rules`, checked by the runner before a call.
 *
 *   nn(a, ars, acs, b, ldb, c, ldc, m, j0, j1, k, bias, relu, bs):
 *     C[i, j] = bias[j] + sum_p A(i, p) * B(p, j) for i < m, j0 <= j < j1, with
 *     A(i, p) = a[i*ars + p*acs], so A may be read transposed (ars = 1), and B(p, j) at byte
 *     b + (j / 8) bs + 4 (p ldb + j % 8): row-major when bs = 32, or in strips of 8 columns each stored
 *     whole (ldb = 8, bs = 32 k), which a tall product with a deep B (AlexNet's 3x3 convolutions: 3456
 *     rows of 256) reads from cache instead of memory. No bias when bias = 0, max(0, C) when relu = 1.
 *     j0 and (j1 - j0) must be multiples of 8.
 *   nt(a, lda, b, ldb, c, ldc, m, j0, j1, k):
 *     C[i, j] = sum_p a[i*lda + p] * b[j*ldb + p], i.e. A times B transposed. (j1 - j0) and k must be
 *     multiples of 4.
 *   adam(p, g, m, v, n, beta1, beta2, eps, weightDecay, rate, invSqrtBc2):
 *     torch.optim.Adam's update of n floats (n a multiple of 4) in float32, with rate = lr / (1 - beta1^t)
 *     and invSqrtBc2 = 1 / sqrt(1 - beta2^t).
 */

/** Rows per tile of nn: 4 rows x 8 columns (6 rows measured 40 % slower: V8 spills their registers). */
const NN_ROWS = 4;
/** Floats of A per row block of nn (1 MB, half of this machine's L2 per core). */
const NN_BLOCK_FLOATS = 262144;

/** acc = acc + x * y of three locals. */
function madd(f: FuncBuilder, fl: KernelFlavour, acc: Local<V128>, x: Local<V128>, y: Local<V128>): void {
  if (fl.fma) f.get(x).get(y).get(acc).f32x4RelaxedMadd().set(acc);
  else f.get(acc).get(x).get(y).f32x4Mul().f32x4Add().set(acc);
}

const NN = ['a', 'ars', 'acs', 'b', 'ldb', 'c', 'ldc', 'm', 'j0', 'j1', 'k', 'bias', 'relu', 'bs'] as const;

export const nn = kernel({
  params: NN,
  split: rangeSplit('j0', 'j1', 8),
  rules: [
    multipleOf('j0', 8, 'B is read in strips of 8 columns'),
    (a) => ((a.j1 - a.j0) % 8 === 0 && a.j1 >= a.j0 ? undefined : `j1 - j0 must be a non-negative multiple of 8 (strips of 8 columns), not ${a.j1 - a.j0}`),
    multipleOf('bs', 32, 'bytes from one strip of 8 columns to the next'),
    (a) => (a.relu === 0 || a.relu === 1 ? undefined : `relu must be 0 or 1, not ${a.relu}`),
  ],
  emit: emitNN,
});

function emitNN(f: FuncBuilder, { a, ars, acs, b, ldb, c, ldc, m, j0, j1, k, bias, relu, bs }: ParamsOf<typeof NN>, fl: KernelFlavour): void {
  const j = f.local(I32, 'j');
  const i = f.local(I32, 'i');
  const p = f.local(I32, 'p');
  const pa = f.local(I32, 'pa');
  const pb = f.local(I32, 'pb');
  const pc = f.local(I32, 'pc');
  const ars4 = f.local(I32, 'ars4');
  const acs4 = f.local(I32, 'acs4');
  const ldb4 = f.local(I32, 'ldb4');
  const ldc4 = f.local(I32, 'ldc4');
  // Byte offsets of rows 1.. of a tile; row 0 adds none, so rowA[0] and rowC[0] are never read.
  const rowA = [ars, ...Array.from({ length: NN_ROWS - 1 }, (_, r) => f.local(I32, `rowA${r + 1}`))];
  const rowC = [ldc, ...Array.from({ length: NN_ROWS - 1 }, (_, r) => f.local(I32, `rowC${r + 1}`))];
  const acc = Array.from({ length: NN_ROWS }, (_, r) => [f.local(V128, `acc${r}a`), f.local(V128, `acc${r}b`)]);
  const b0 = f.local(V128, 'b0');
  const b1 = f.local(V128, 'b1');
  const av = f.local(V128, 'av');
  const zero = f.local(V128, 'zero');
  const pbias = f.local(I32, 'pbias');

  const times4 = (src: Local<I32>, dst: Local<I32>) => f.get(src).i32(2).shl().set(dst);
  times4(ars, ars4);
  times4(acs, acs4);
  times4(ldb, ldb4);
  times4(ldc, ldc4);
  for (let r = 1; r < NN_ROWS; r++) {
    f.get(ars4).i32(r).mul().set(rowA[r]);
    f.get(ldc4).i32(r).mul().set(rowC[r]);
  }

  /** One tile of `rows` rows by 8 columns at (i, j). */
  const tile = (rows: number) => {
    f.get(bias).ifElse(
      () => {
        f.get(bias).get(j).i32(2).shl().add().set(pbias);
        for (let r = 0; r < rows; r++) acc[r].forEach((x, h) => f.get(pbias).v128Load(16 * h).set(x));
      },
      () => {
        for (let r = 0; r < rows; r++) for (const x of acc[r]) f.v128Zero().set(x);
      },
    );
    f.get(a).get(i).get(ars4).mul().add().set(pa);
    f.get(b).get(j).i32(3).shrU().get(bs).mul().add().set(pb); // b + (j / 8) bs
    f.get(k).set(p);
    f.while(
      () => f.get(p),
      () => {
        f.get(pb).v128Load(0).set(b0);
        f.get(pb).v128Load(16).set(b1);
        for (let r = 0; r < rows; r++) {
          f.get(pa);
          if (r > 0) f.get(rowA[r]).add();
          f.v128Load32Splat().set(av);
          madd(f, fl, acc[r][0], av, b0);
          madd(f, fl, acc[r][1], av, b1);
        }
        f.get(pa).get(acs4).add().set(pa);
        f.get(pb).get(ldb4).add().set(pb);
        f.get(p).i32(-1).add().set(p);
      },
    );
    f.get(relu).ifElse(() => {
      for (let r = 0; r < rows; r++) for (const x of acc[r]) f.get(zero).get(x).f32x4Pmax().set(x);
    });
    f.get(c).get(i).get(ldc).mul().get(j).add().i32(2).shl().add().set(pc);
    for (let r = 0; r < rows; r++) {
      for (let h = 0; h < 2; h++) {
        f.get(pc);
        if (r > 0) f.get(rowC[r]).add();
        f.get(acc[r][h]).v128Store(16 * h);
      }
    }
  };

  f.v128Zero().set(zero);
  // Blocks of about NN_BLOCK_FLOATS of A (a multiple of the tile's rows, at least one tile).
  const block = f.local(I32, 'block');
  f.i32(NN_BLOCK_FLOATS).get(k).i32(1).get(k).i32(1).geU().select().divU().i32(-NN_ROWS).and().set(block); // div_u, and
  f.get(block).i32(NN_ROWS).get(block).i32(NN_ROWS).geU().select().set(block); // at least NN_ROWS
  tileLoops(f, { j, j0, j1, i, m }, NN_ROWS, 8, tile, block);
}

/**
 * for (j = j0; j < j1; j += cols) { tiles of `rows` rows while they fit, then single rows, up to m }: the
 * loops both products share around their tiles. Arguments are local indices. With `block` (a local), rows
 * go in blocks of that many, each block across all columns before the next: a tall A (a convolution's
 * patches) is then read from memory once, not once per column strip.
 */
function tileLoops(f: FuncBuilder, l: Record<'j' | 'j0' | 'j1' | 'i' | 'm', Local<I32>>, rows: number, cols: number, tile: (rows: number) => void, block?: Local<I32>): void {
  const i0 = f.local(I32, 'i0');
  const iEnd = f.local(I32, 'iEnd');
  f.i32(0).set(i0);
  f.while(
    () => f.get(i0).get(l.m).ltU(),
    () => {
      if (block === undefined) f.get(l.m).set(iEnd);
      else {
        f.get(i0).get(block).add().set(iEnd);
        f.get(iEnd).get(l.m).get(iEnd).get(l.m).ltU().select().set(iEnd); // select: min(iEnd, m)
      }
      f.get(l.j0).set(l.j);
      f.while(
        () => f.get(l.j).get(l.j1).ltU(),
        () => {
          f.get(i0).set(l.i);
          f.while(
            () => f.get(l.i).i32(rows - 1).add().get(iEnd).ltU(),
            () => {
              tile(rows);
              f.get(l.i).i32(rows).add().set(l.i);
            },
          );
          f.while(
            () => f.get(l.i).get(iEnd).ltU(),
            () => {
              tile(1);
              f.get(l.i).i32(1).add().set(l.i);
            },
          );
          f.get(l.j).i32(cols).add().set(l.j);
        },
      );
      f.get(iEnd).set(i0);
    },
  );
}

const NT = ['a', 'lda', 'b', 'ldb', 'c', 'ldc', 'm', 'j0', 'j1', 'k'] as const;

export const nt = kernel({
  params: NT,
  split: rangeSplit('j0', 'j1', 4),
  rules: [
    (a) => ((a.j1 - a.j0) % 4 === 0 && a.j1 >= a.j0 ? undefined : `j1 - j0 must be a non-negative multiple of 4 (tiles of 4 columns), not ${a.j1 - a.j0}`),
    multipleOf('k', 4, 'rows are read 4 floats at a time'),
  ],
  emit: emitNT,
});

function emitNT(f: FuncBuilder, { a, lda, b, ldb, c, ldc, m, j0, j1, k }: ParamsOf<typeof NT>, fl: KernelFlavour): void {
  const j = f.local(I32, 'j');
  const i = f.local(I32, 'i');
  const p = f.local(I32, 'p');
  const q = f.local(I32, 'q');
  const lda4 = f.local(I32, 'lda4');
  const ldb4 = f.local(I32, 'ldb4');
  const ldc4 = f.local(I32, 'ldc4');
  const pc = f.local(I32, 'pc');
  const pa = f.localsOf(I32, 'pa0', 'pa1');
  const pb = f.localsOf(I32, 'pb0', 'pb1', 'pb2', 'pb3');
  const acc = Array.from({ length: 2 }, (_, r) => f.localsOf(V128, `acc${r}0`, `acc${r}1`, `acc${r}2`, `acc${r}3`));
  const av = f.localsOf(V128, 'av0', 'av1');
  const bv = f.local(V128, 'bv');

  f.get(lda).i32(2).shl().set(lda4);
  f.get(ldb).i32(2).shl().set(ldb4);
  f.get(ldc).i32(2).shl().set(ldc4);

  const tile = (rows: number) => {
    for (let r = 0; r < rows; r++) for (const x of acc[r]) f.v128Zero().set(x);
    f.get(a).get(i).get(lda4).mul().add().set(pa[0]);
    if (rows > 1) f.get(pa[0]).get(lda4).add().set(pa[1]);
    f.get(b).get(j).get(ldb4).mul().add().set(pb[0]);
    for (let s = 1; s < 4; s++) f.get(pb[s - 1]).get(ldb4).add().set(pb[s]);
    f.get(k).i32(2).shrU().set(p); // i32.shr_u: k / 4 chunks
    f.i32(0).set(q);
    f.while(
      () => f.get(p),
      () => {
        for (let r = 0; r < rows; r++) f.get(pa[r]).get(q).add().v128Load().set(av[r]);
        for (let s = 0; s < 4; s++) {
          f.get(pb[s]).get(q).add().v128Load().set(bv);
          for (let r = 0; r < rows; r++) madd(f, fl, acc[r][s], av[r], bv);
        }
        f.get(q).i32(16).add().set(q);
        f.get(p).i32(-1).add().set(p);
      },
    );
    f.get(c).get(i).get(ldc).mul().get(j).add().i32(2).shl().add().set(pc);
    for (let r = 0; r < rows; r++) {
      for (let s = 0; s < 4; s++) {
        f.get(pc);
        if (r > 0) f.get(ldc4).add();
        // Lanes summed in the order (0 + 1) + (2 + 3).
        f.get(acc[r][s]).f32x4Lane(0).get(acc[r][s]).f32x4Lane(1).f32Add();
        f.get(acc[r][s]).f32x4Lane(2).get(acc[r][s]).f32x4Lane(3).f32Add();
        f.f32Add().f32Store(4 * s);
      }
    }
  };

  tileLoops(f, { j, j0, j1, i, m }, 2, 4, tile);
}

const ADAM = ['p', 'g', 'm', 'v', 'n', 'beta1:f32', 'beta2:f32', 'eps:f32', 'weightDecay:f32', 'rate:f32', 'invSqrtBc2:f32'] as const;

export const adam = kernel({
  params: ADAM,
  split: {
    unit: 4,
    extent: (a) => a.n,
    part: (a, lo, hi) => ({ ...a, p: a.p + 4 * lo, g: a.g + 4 * lo, m: a.m + 4 * lo, v: a.v + 4 * lo, n: hi - lo }),
  },
  rules: [multipleOf('n', 4, 'whole groups of 4 floats')],
  emit: emitAdam,
});

function emitAdam(f: FuncBuilder, { p, g, m, v, n, beta1, beta2, eps: epsParam, weightDecay, rate: rateParam, invSqrtBc2 }: ParamsOf<typeof ADAM>): void {
  const [b1, b2, eps, wd, rate, isb] = [beta1, beta2, epsParam, weightDecay, rateParam, invSqrtBc2].map((s) => {
    const x = f.local(V128, `${f.nameOf(s)}4`);
    f.get(s).f32x4Splat().set(x);
    return x;
  });
  const one = f.local(V128, 'one');
  f.i32(1).f32ConvertI32S().f32x4Splat().set(one); // f32.convert_i32_s
  const c1 = f.local(V128, 'c1');
  const c2 = f.local(V128, 'c2');
  f.get(one).get(b1).f32x4Sub().set(c1);
  f.get(one).get(b2).f32x4Sub().set(c2);
  const q = f.local(I32, 'q');
  const end = f.local(I32, 'end');
  const gk = f.local(V128, 'gk');
  const mk = f.local(V128, 'mk');
  const vk = f.local(V128, 'vk');
  const pk = f.local(V128, 'pk');
  f.get(n).i32(2).shl().set(end);
  f.chunks(q, end, () => {
    f.get(p).get(q).add().v128Load().set(pk);
    f.get(g).get(q).add().v128Load().get(wd).get(pk).f32x4Mul().f32x4Add().set(gk);
    f.get(b1).get(m).get(q).add().v128Load().f32x4Mul().get(c1).get(gk).f32x4Mul().f32x4Add().set(mk);
    f.get(b2).get(v).get(q).add().v128Load().f32x4Mul().get(c2).get(gk).get(gk).f32x4Mul().f32x4Mul().f32x4Add().set(vk);
    f.get(m).get(q).add().get(mk).v128Store();
    f.get(v).get(q).add().get(vk).v128Store();
    f.get(p).get(q).add();
    f.get(pk).get(rate).get(mk).f32x4Mul().get(vk).f32x4Sqrt().get(isb).f32x4Mul().get(eps).f32x4Add().f32x4Div().f32x4Sub();
    f.v128Store();
  });
}

