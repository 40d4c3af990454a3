import { emitCol2imAdd, emitIm2col, emitMaxPool, emitMaxPoolBack } from './convKernels';
import { emitLrn, emitMaxPoolSame } from './poolKernels';
import { emitAffine, emitAffineBack, emitReluMask } from './couplingKernels';
import { emitAddTo, emitClipCopy, emitGather, emitMaskCopy, emitRowSums, emitScaleCopy, emitScatter } from './glueKernels';
import { F32, FuncBuilder, I32, V128, moduleBytes, type ValType } from './emit';

/*
 * Two single-precision matrix products in WebAssembly SIMD: the flow's arithmetic that is not elementwise
 * (its elementwise kernels, in couplingKernels.ts, share this module) and the backbone's convolutions
 * (backbones/hostBackbone.ts, with convKernels.ts). TF.js's WASM backend runs a matMul on one thread and repacks its
 * right operand whenever that tensor is new, which during training is every call; these kernels read both
 * operands in place and are split across threads that share one memory (the flow's by output columns, the
 * convolutions' by rows).
 *
 * Pointers are byte offsets into the memory; strides and sizes count floats.
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

const NN_PARAMS = 14;
/** Rows per tile of nn: 4 rows x 8 columns (6 rows measured 40 % slower: V8 spills their registers). */
const NN_ROWS = 4;
/** Floats of A per row block of nn (1 MB, half of this machine's L2 per core). */
const NN_BLOCK_FLOATS = 262144;

/**
 * How the products multiply and add: fused multiply-adds (relaxed SIMD's f32x4.relaxed_madd, one FMA
 * instruction on CPUs that have one: x86 with FMA3, 64-bit ARM) where the engine has relaxed SIMD, else a
 * multiply then an add. On this machine's flow shapes the fused kernels ran 1.5-1.8x faster.
 * relaxed_madd may round once or twice depending on the hardware, so floats can differ between machines
 * in the last bit; one machine is deterministic, and the parity tests hold with either.
 */
export interface KernelFlavour {
  fma: boolean;
}

/** acc = acc + x * y of three locals. */
function madd(f: FuncBuilder, fl: KernelFlavour, acc: number, x: number, y: number): void {
  if (fl.fma) f.get(x).get(y).get(acc).f32x4RelaxedMadd().set(acc);
  else f.get(acc).get(x).get(y).f32x4Mul().f32x4Add().set(acc);
}

function emitNN(fl: KernelFlavour): FuncBuilder {
  const f = new FuncBuilder(new Array<ValType>(NN_PARAMS).fill(I32));
  const [a, ars, acs, b, ldb, c, ldc, m, j0, j1, k, bias, relu, bs] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13];
  const j = f.local(I32);
  const i = f.local(I32);
  const p = f.local(I32);
  const pa = f.local(I32);
  const pb = f.local(I32);
  const pc = f.local(I32);
  const ars4 = f.local(I32);
  const acs4 = f.local(I32);
  const ldb4 = f.local(I32);
  const ldc4 = f.local(I32);
  const rowA = [0, ...Array.from({ length: NN_ROWS - 1 }, () => f.local(I32))];
  const rowC = [0, ...Array.from({ length: NN_ROWS - 1 }, () => f.local(I32))];
  const acc = Array.from({ length: NN_ROWS }, () => [f.local(V128), f.local(V128)]);
  const b0 = f.local(V128);
  const b1 = f.local(V128);
  const av = f.local(V128);
  const zero = f.local(V128);
  const pbias = f.local(I32);

  const times4 = (src: number, dst: number) => f.get(src).i32(2).shl().set(dst);
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
    f.get(b).get(j).i32(3).op(0x76).get(bs).mul().add().set(pb); // b + (j / 8) bs
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
  const block = f.local(I32);
  f.i32(NN_BLOCK_FLOATS).get(k).i32(1).get(k).i32(1).geU().op(0x1b).op(0x6e).i32(-NN_ROWS).op(0x71).set(block); // div_u, and
  f.get(block).i32(NN_ROWS).get(block).i32(NN_ROWS).geU().op(0x1b).set(block); // at least NN_ROWS
  tileLoops(f, { j, j0, j1, i, m }, NN_ROWS, 8, tile, block);
  return f;
}

/**
 * for (j = j0; j < j1; j += cols) { tiles of `rows` rows while they fit, then single rows, up to m }: the
 * loops both products share around their tiles. Arguments are local indices. With `block` (a local), rows
 * go in blocks of that many, each block across all columns before the next: a tall A (a convolution's
 * patches) is then read from memory once, not once per column strip.
 */
function tileLoops(f: FuncBuilder, l: { j: number; j0: number; j1: number; i: number; m: number }, rows: number, cols: number, tile: (rows: number) => void, block?: number): void {
  const i0 = f.local(I32);
  const iEnd = f.local(I32);
  f.i32(0).set(i0);
  f.while(
    () => f.get(i0).get(l.m).ltU(),
    () => {
      if (block === undefined) f.get(l.m).set(iEnd);
      else {
        f.get(i0).get(block).add().set(iEnd);
        f.get(iEnd).get(l.m).get(iEnd).get(l.m).ltU().op(0x1b).set(iEnd); // select: min(iEnd, m)
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

function emitNT(fl: KernelFlavour): FuncBuilder {
  const f = new FuncBuilder(new Array<ValType>(10).fill(I32));
  const [a, lda, b, ldb, c, ldc, m, j0, j1, k] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const j = f.local(I32);
  const i = f.local(I32);
  const p = f.local(I32);
  const q = f.local(I32);
  const lda4 = f.local(I32);
  const ldb4 = f.local(I32);
  const ldc4 = f.local(I32);
  const pc = f.local(I32);
  const pa = [f.local(I32), f.local(I32)];
  const pb = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const acc = Array.from({ length: 2 }, () => [f.local(V128), f.local(V128), f.local(V128), f.local(V128)]);
  const av = [f.local(V128), f.local(V128)];
  const bv = f.local(V128);

  f.get(lda).i32(2).shl().set(lda4);
  f.get(ldb).i32(2).shl().set(ldb4);
  f.get(ldc).i32(2).shl().set(ldc4);

  const tile = (rows: number) => {
    for (let r = 0; r < rows; r++) for (const x of acc[r]) f.v128Zero().set(x);
    f.get(a).get(i).get(lda4).mul().add().set(pa[0]);
    if (rows > 1) f.get(pa[0]).get(lda4).add().set(pa[1]);
    f.get(b).get(j).get(ldb4).mul().add().set(pb[0]);
    for (let s = 1; s < 4; s++) f.get(pb[s - 1]).get(ldb4).add().set(pb[s]);
    f.get(k).i32(2).op(0x76).set(p); // i32.shr_u: k / 4 chunks
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
  return f;
}

function emitAdam(): FuncBuilder {
  const f = new FuncBuilder([I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32]);
  const [p, g, m, v, n] = [0, 1, 2, 3, 4];
  const scalars = [5, 6, 7, 8, 9, 10];
  const [b1, b2, eps, wd, rate, isb] = scalars.map((s) => {
    const x = f.local(V128);
    f.get(s).f32x4Splat().set(x);
    return x;
  });
  const one = f.local(V128);
  f.i32(1).op(0xb2).f32x4Splat().set(one); // f32.convert_i32_s
  const c1 = f.local(V128);
  const c2 = f.local(V128);
  f.get(one).get(b1).f32x4Sub().set(c1);
  f.get(one).get(b2).f32x4Sub().set(c2);
  const q = f.local(I32);
  const end = f.local(I32);
  const gk = f.local(V128);
  const mk = f.local(V128);
  const vk = f.local(V128);
  const pk = f.local(V128);
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
  return f;
}

export interface GemmExports {
  nn(a: number, ars: number, acs: number, b: number, ldb: number, c: number, ldc: number, m: number, j0: number, j1: number, k: number, bias: number, relu: number, bs: number): void;
  adam(p: number, g: number, m: number, v: number, n: number, beta1: number, beta2: number, eps: number, weightDecay: number, rate: number, invSqrtBc2: number): void;
  nt(a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, j0: number, j1: number, k: number): void;
  /** couplingKernels.ts */
  affine(o: number, x: number, ls: number, e: number, y: number, l: number, r0: number, r1: number, c: number, k: number): void;
  affineBack(dy: number, e: number, x: number, o: number, dO: number, dx: number, l: number, r0: number, r1: number, c: number, g: number): void;
  reluMask(h: number, d: number, n: number): void;
  /** convKernels.ts */
  im2col(x: number, h: number, w: number, c: number, k: number, s: number, pad: number, ow: number, out: number, r0: number, r1: number): void;
  maxPool(x: number, h: number, w: number, c: number, ow: number, out: number, r0: number, r1: number): void;
  maxPoolBack(x: number, h: number, c: number, s: number, off: number, o: number, g: number, dx: number): void;
  col2imAdd(dcol: number, ld: number, dx: number, h: number, c: number, k: number, s: number, pad: number, o: number): void;
  /** poolKernels.ts */
  lrn(x: number, out: number, ch: number, p0: number, p1: number, k: number, scale: number): void;
  maxPoolSame(x: number, h: number, w: number, c: number, out: number, r0: number, r1: number): void;
  /** glueKernels.ts */
  gather(src: number, ss: number, idx: number, n: number, dst: number, ds: number, rows: number): void;
  scatter(src: number, ss: number, idx: number, n: number, dst: number, ds: number, rows: number): void;
  clipCopy(src: number, ss: number, dst: number, ds: number, n: number, rows: number, c: number): void;
  maskCopy(y: number, ys: number, g: number, gs: number, dst: number, ds: number, n: number, rows: number, c: number): void;
  addTo(dst: number, src: number, n: number): void;
  rowSums(x: number, l: number, rows: number, out: number): void;
  scaleCopy(src: number, dst: number, n: number, scale: number): void;
}

const PAGE = 65536;

export function gemmModuleBytes(memory: { initialPages: number; maximumPages: number; shared: boolean }, fl: KernelFlavour = { fma: false }): Uint8Array {
  return moduleBytes(
    [
      { name: 'nn', fn: emitNN(fl) },
      { name: 'nt', fn: emitNT(fl) },
      { name: 'adam', fn: emitAdam() },
      { name: 'affine', fn: emitAffine() },
      { name: 'affineBack', fn: emitAffineBack() },
      { name: 'reluMask', fn: emitReluMask() },
      { name: 'im2col', fn: emitIm2col() },
      { name: 'maxPool', fn: emitMaxPool() },
      { name: 'maxPoolBack', fn: emitMaxPoolBack() },
      { name: 'lrn', fn: emitLrn() },
      { name: 'maxPoolSame', fn: emitMaxPoolSame() },
      { name: 'col2imAdd', fn: emitCol2imAdd() },
      { name: 'gather', fn: emitGather() },
      { name: 'scatter', fn: emitScatter() },
      { name: 'clipCopy', fn: emitClipCopy() },
      { name: 'maskCopy', fn: emitMaskCopy() },
      { name: 'addTo', fn: emitAddTo() },
      { name: 'rowSums', fn: emitRowSums() },
      { name: 'scaleCopy', fn: emitScaleCopy() },
    ],
    memory,
  );
}

/** The kernels compiled against a memory of `bytes` bytes (shared, so threads can run them on it, when asked). */
export function gemmModule(bytes: number, shared: boolean, fl: KernelFlavour = bestFlavour()): { module: WebAssembly.Module; memory: WebAssembly.Memory } {
  const pages = Math.ceil(bytes / PAGE);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared });
  const module = new WebAssembly.Module(gemmModuleBytes({ initialPages: pages, maximumPages: pages, shared }, fl) as BufferSource);
  return { module, memory };
}

export function instantiateGemm(module: WebAssembly.Module, memory: WebAssembly.Memory): GemmExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as GemmExports;
}

/** Whether this engine runs relaxed SIMD (V8 11.4+: Chromium 114+, Node 21+; Node 20 with V8's flag, see node/wasmFeatures.ts). Elsewhere the kernels multiply, then add. */
export function relaxedSimdSupported(): boolean {
  const f = new FuncBuilder([V128, V128, V128]);
  f.get(0).get(1).get(2).f32x4RelaxedMadd().op(0x1a); // drop
  try {
    return WebAssembly.validate(moduleBytes([{ name: 'madd', fn: f }], { initialPages: 1, maximumPages: 1, shared: false }) as BufferSource);
  } catch {
    return false;
  }
}

export function bestFlavour(): KernelFlavour {
  return { fma: relaxedSimdSupported() };
}

/** Whether this engine runs WebAssembly SIMD (every current browser and Node >= 16 do). */
export function simdSupported(): boolean {
  try {
    return WebAssembly.validate(gemmModuleBytes({ initialPages: 1, maximumPages: 1, shared: false }) as BufferSource);
  } catch {
    return false;
  }
}
