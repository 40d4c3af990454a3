import { I32, type ValType } from './emit';
import { KERNELS, KERNEL_NAMES, bestFlavour, gemmModule, instantiateGemm, type GemmExports, type KernelFlavour, type KernelName } from './gemmKernels';
import { helperPool, type HelperPool, type ThreadSpawner } from './helperPool';
import type { ArgsOf, Kernel, Split } from './kernelSpec';
import type { AdamStep } from '../train/adamConfig';

export type { AdamStep };
export { HELPER_SOURCE, stopHelperPools, type HelperInit, type HelperThread, type ThreadSpawner } from './helperPool';

/*
 * The engine's kernels on several threads sharing one WebAssembly memory. The calling thread splits each
 * job (the flow's products by output columns, a convolution's by rows of pixels, couplings, patches and
 * pools by rows, Adam by parameters, as each kernel's table entry says), hands the other parts to the
 * worker's helper threads (helperPool.ts) through their shared control blocks, computes its own part and
 * waits for theirs. Helpers spin briefly between jobs (a training step hands out about 250, 0.1 to 1 ms
 * apart) and sleep in Atomics.wait otherwise.
 */

const isInt = (t: ValType) => t === I32;

/** A kernel's arguments by parameter name. */
export type KernelArgs<N extends KernelName> = ArgsOf<(typeof KERNELS)[N]['params']>;

/**
 * `args` in parameter order; throws, naming the kernel, where they break the parameters' types or the
 * kernel's shape rules. Runs on every call, so it allocates only the result.
 */
export function checkedArgs(name: KernelName, args: Record<string, number>): number[] {
  const k = KERNELS[name] as Kernel;
  const values = new Array<number>(k.names.length);
  let broken: string[] | null = null;
  for (let i = 0; i < values.length; i++) {
    const n = k.names[i];
    const v = args[n];
    values[i] = v;
    // Pointers, sizes and flags: a fraction or a negative number would be wrapped into another address.
    if (typeof v !== 'number') (broken ??= []).push(`${n} is missing`);
    else if (isInt(k.types[i]) && !(v >= 0 && v < 4294967296 && Math.floor(v) === v)) (broken ??= []).push(`${n} must be a non-negative 32-bit integer, not ${v}`);
  }
  if (!broken && k.rules) {
    for (const rule of k.rules) {
      const why = rule(args as never);
      if (why) (broken ??= []).push(why);
    }
  }
  if (broken) throw new Error(`kernel ${name}: ${broken.join('; ')}`);
  return values;
}

const KERNEL_LIST = KERNEL_NAMES.map((name) => [name, KERNELS[name] as Kernel] as const);

/** Throws unless `threads` is a whole number of threads, at least 1 (the calling thread). */
export function checkThreadLimit(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`a thread limit must be a whole number of at least 1, not ${threads}`);
}

/** The helpers a runner uses: the first `count` of its pool, running its instance `slot`. */
interface Share {
  pool: HelperPool;
  slot: number;
  count: number;
}

/** The WebAssembly kernels (gemmKernels.ts's table) on one memory, on this thread and any helpers. */
export class GemmRunner {
  readonly f32: Float32Array;
  private readonly k: GemmExports;
  /** Every kernel of the table, checked and split as its entry says; arguments in parameter order. */
  readonly kernels: GemmExports;
  private disposed = false;
  /** At most this many threads per kernel call, set by `limited` for the length of one job. */
  private limit = Number.POSITIVE_INFINITY;

  private constructor(
    readonly memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    private readonly share: Share | null,
  ) {
    this.k = instantiateGemm(module, memory);
    this.f32 = new Float32Array(memory.buffer);
    this.kernels = Object.fromEntries(
      KERNEL_LIST.map(([name, k]) => [name, (...values: number[]) => this.run(name, Object.fromEntries(k.names.map((n, i) => [n, values[i]])) as never)]),
    ) as unknown as GemmExports;
  }

  /** Threads working on each product, this one included. */
  get threads(): number {
    // A retired pool (one of its helpers failed, maybe on another runner's job) leaves this thread alone.
    return Math.min(this.limit, this.share && !this.share.pool.broken ? this.share.count + 1 : 1);
  }

  /**
   * Runs `job` with every kernel call split over at most `maxThreads` threads, this one included (undefined:
   * all of them), then restores the runner's threads. For a job beside other busy threads on few cores, where
   * a split's barrier would wait on a helper that has no core. `job` is synchronous, so no other caller's
   * kernels run under the limit.
   */
  limited<T>(maxThreads: number | undefined, job: () => T): T {
    if (maxThreads === undefined) return job();
    checkThreadLimit(maxThreads);
    const before = this.limit;
    this.limit = Math.min(before, maxThreads);
    try {
      return job();
    } finally {
      this.limit = before;
    }
  }

  /**
   * A runner over `bytes` bytes of fresh memory with `helpers` helper threads (none without a spawner or
   * without SharedArrayBuffer, e.g. a page that is not cross-origin isolated). The helpers are the
   * spawner's pool (helperPool.ts), shared with every other runner of this worker or process.
   */
  static async create(bytes: number, helpers = 0, spawn?: ThreadSpawner, flavour: KernelFlavour = bestFlavour()): Promise<GemmRunner> {
    const threaded = helpers > 0 && !!spawn && typeof SharedArrayBuffer !== 'undefined';
    const { module, memory } = gemmModule(bytes, threaded, flavour);
    if (!threaded) return new GemmRunner(memory, module, null);
    const pool = await helperPool(spawn, helpers);
    return new GemmRunner(memory, module, { pool, slot: pool.attach(module, memory), count: helpers });
  }

  /**
   * Kernel `name` on `args`, checked against its entry's rules first (a bad shape throws before any memory
   * is touched), then split across the threads as its entry (or `split`) says.
   */
  run<N extends KernelName>(name: N, args: KernelArgs<N>, split: Split<KernelArgs<N>> | undefined = KERNELS[name].split as Split<KernelArgs<N>> | undefined): void {
    if (this.disposed) throw new Error(`the WebAssembly kernels were released (kernel ${name})`);
    const values = checkedArgs(name, args);
    const k = KERNELS[name] as Kernel;
    const positional = (a: KernelArgs<N>) => k.names.map((n) => (a as Record<string, number>)[n]);
    const local = this.k[name] as (...a: number[]) => void;
    const n = split && !split.whole?.(args) ? split.extent(args) : 0;
    const parts = split ? Math.min(this.threads, Math.floor(n / split.unit)) : 1;
    if (!split || parts <= 1 || !this.share) {
      local(...values);
      return;
    }
    const { pool, slot } = this.share;
    const units = n / split.unit;
    const bound = (p: number) => (p === parts ? n : Math.round((units * p) / parts) * split.unit);
    const out = pool.helpers.slice(0, parts - 1);
    out.forEach((h, i) => h.post(slot, name, positional(split.part(args, bound(i + 1), bound(i + 2)))));
    try {
      local(...positional(split.part(args, 0, bound(1))));
    } finally {
      // Also when this thread's part threw: the helpers' parts must end before another job is posted.
      for (const h of out) pool.settle(h, () => undefined, name);
    }
  }

  /** C = A B over all columns; see productKernels.ts for the arguments. */
  nn(a: number, ars: number, acs: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number, bias = 0, relu = false): void {
    this.run('nn', { a, ars, acs, b, ldb, c, ldc, m, j0: 0, j1: n, k, bias, relu: relu ? 1 : 0, bs: 32 });
  }

  /**
   * C = A B split by rows of C instead of columns: for tall products (a convolution's pixels), where a
   * column split would have every thread read all of A. A is read as rows (A(i, p) = a[i ars + p]), B
   * in strips of 8 columns (the strips of backbones/hostBackbone.ts's patchMatrix).
   */
  nnRows(a: number, ars: number, b: number, c: number, ldc: number, m: number, n: number, k: number, bias = 0, relu = false): void {
    const byRows: Split<KernelArgs<'nn'>> = {
      unit: 4,
      extent: (x) => x.m,
      part: (x, r0, r1) => ({ ...x, a: x.a + 4 * r0 * x.ars, c: x.c + 4 * r0 * x.ldc, m: r1 - r0 }),
    };
    this.run('nn', { a, ars, acs: 1, b, ldb: 8, c, ldc, m, j0: 0, j1: n, k, bias, relu: relu ? 1 : 0, bs: 32 * k }, byRows);
  }

  /** Patch rows of a convolution (convKernels.ts), split by output rows where the copies are whole 16-byte groups. */
  im2col(x: number, h: number, w: number, c: number, k: number, s: number, pad: number, oh: number, ow: number, out: number): void {
    this.run('im2col', { x, h, w, c, k, s, pad, ow, out, r0: 0, r1: oh });
  }

  /** 3x3 / stride 2 max pool into oh x ow (convKernels.ts), split by output rows. */
  maxPool(x: number, h: number, w: number, c: number, oh: number, ow: number, out: number): void {
    this.run('maxPool', { x, h, w, c, ow, out, r0: 0, r1: oh });
  }

  /**
   * dx += the 3x3 max pool's gradient (convKernels.ts maxPoolBack), on this thread: overlapping windows
   * would have threads add into the same pixels.
   */
  maxPoolBack(x: number, h: number, c: number, stride: 1 | 2, o: number, g: number, dx: number): void {
    this.run('maxPoolBack', { x, h, c, s: stride, off: stride === 1 ? 1 : 0, o, g, dx });
  }

  /**
   * Caffe's LRN across channels (poolKernels.ts) of `pixels` pixels at x into out, split by pixels. Size 5 and
   * beta 0.75 only, GoogLeNet's: the kernel raises to the power -0.75 with two square roots.
   */
  lrn(x: number, out: number, pixels: number, ch: number, p: { size: number; alpha: number; beta: number; k: number }): void {
    if (p.size !== 5 || p.beta !== 0.75) throw new Error(`kernel lrn: computes size 5 and beta 0.75, not size ${p.size} and beta ${p.beta}`);
    this.run('lrn', { x, out, ch, p0: 0, p1: pixels, k: p.k, scale: p.alpha / p.size });
  }

  /** 3x3 / stride 1 max pool of an h x w image, windows clipped to it (poolKernels.ts), split by rows. */
  maxPoolSame(x: number, h: number, w: number, c: number, out: number): void {
    this.run('maxPoolSame', { x, h, w, c, out, r0: 0, r1: h });
  }

  /** dx += patch gradients scattered back to their pixels (convKernels.ts col2imAdd), on this thread: patches overlap. */
  col2imAdd(dcol: number, ld: number, dx: number, h: number, c: number, k: number, s: number, pad: number, o: number): void {
    this.run('col2imAdd', { dcol, ld, dx, h, c, k, s, pad, o });
  }

  /** C = A B^T over all columns. */
  nt(a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number): void {
    this.run('nt', { a, lda, b, ldb, c, ldc, m, j0: 0, j1: n, k });
  }

  /** One Adam update of `count` parameters, gradients and moments stored at byte offsets p, g, m, v. */
  adam(p: number, g: number, m: number, v: number, count: number, s: AdamStep): void {
    this.run('adam', { p, g, m, v, n: count, beta1: s.beta1, beta2: s.beta2, eps: s.eps, weightDecay: s.weightDecay, rate: s.rate, invSqrtBc2: s.invSqrtBc2 });
  }

  /** The affine coupling's forward over `rows` rows (split by rows); see couplingKernels.ts. */
  affine(o: number, x: number, ls: number, e: number, y: number, l: number, rows: number, c: number, k: number): void {
    this.run('affine', { o, x, ls, e, y, l, r0: 0, r1: rows, c, k });
  }

  affineBack(dy: number, e: number, x: number, o: number, dO: number, dx: number, l: number, rows: number, c: number, g: number): void {
    this.run('affineBack', { dy, e, x, o, dO, dx, l, r0: 0, r1: rows, c, g });
  }

  /** d = h > 0 ? d : 0 over `count` floats (a multiple of 4), on this thread: a few microseconds, less than a hand-off. */
  reluMask(h: number, d: number, count: number): void {
    this.run('reluMask', { h, d, n: count });
  }

  /**
   * The flow step's glue (glueKernels.ts), on this thread: each is a fraction of a millisecond, less than
   * a hand-off would cost.
   */
  get glue(): Pick<GemmExports, 'gather' | 'scatter' | 'clipCopy' | 'maskCopy' | 'addTo' | 'rowSums' | 'scaleCopy'> {
    if (this.disposed) throw new Error('the WebAssembly kernels were released');
    return this.kernels;
  }

  /** Releases the memory; the pool's helpers stay for the worker's other runners. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.share) this.share.pool.detach(this.share.slot);
  }
}
