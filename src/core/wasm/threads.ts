import { bestFlavour, gemmModule, instantiateGemm, type GemmExports, type KernelFlavour } from './gemmKernels';
import type { AdamStep } from '../train/adamConfig';

export type { AdamStep };

/*
 * The engine's kernels on several threads sharing one WebAssembly memory. The calling thread splits each
 * job (the flow's products by output columns, a convolution's by rows of pixels, couplings, patches and
 * pools by rows, Adam by parameters), hands the other parts to helper
 * threads through a shared control block, computes its own part and waits for theirs. Helpers spin briefly
 * between jobs (a training step hands out about 250, 0.1 to 1 ms apart) and sleep in Atomics.wait otherwise.
 */

/** A started helper thread; the adapters (Node worker_threads, browser Workers) make them. */
export interface HelperThread {
  terminate(): void;
}

/**
 * Starts a thread running `source`, a function expression `(init, post) => void`, with `init` posted to it.
 * Resolves once the thread posts 'ready'.
 */
export type ThreadSpawner = (source: string, init: HelperInit) => Promise<HelperThread>;

export interface HelperInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
}

const SEQ = 0;
const DONE = 1;
const OP = 2;
/** Set by a helper whose job threw; the caller then fails instead of waiting for it. */
const ERR = 3;
const ARGS = 4;
const CONTROL_INTS = 24;
/** Float arguments (Adam's constants, the couplings' clamp and factors) after the ints, as float64. */
const FLOATS_AT = 4 * CONTROL_INTS;
const CONTROL_BYTES = FLOATS_AT + 8 * 8;

const OP_STOP = 0;
const OP_NN = 1;
const OP_NT = 2;
const OP_ADAM = 3;
const OP_AFFINE = 4;
const OP_AFFINE_BACK = 5;
const OP_IM2COL = 6;
const OP_POOL = 7;
const OP_LRN = 16;
const OP_POOL_SAME = 17;


/**
 * The helper's program. It is a string, not a function of this module, so that no bundler or loader can
 * rewrite it into something that needs this module's scope.
 */
export const HELPER_SOURCE = `(init, post) => {
  const ctl = new Int32Array(init.control, 0, ${CONTROL_INTS});
  const fl = new Float64Array(init.control, ${FLOATS_AT}, 8);
  const k = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports;
  let seen = 0;
  post('ready');
  for (;;) {
    let spins = 0;
    while (Atomics.load(ctl, ${SEQ}) === seen) {
      if (++spins > 20000) Atomics.wait(ctl, ${SEQ}, seen);
    }
    seen = Atomics.load(ctl, ${SEQ});
    const op = ctl[${OP}];
    const a = ${ARGS};
    if (op === ${OP_STOP}) return;
    try {
    if (op === ${OP_NN}) k.nn(ctl[a], ctl[a + 1], ctl[a + 2], ctl[a + 3], ctl[a + 4], ctl[a + 5], ctl[a + 6], ctl[a + 7], ctl[a + 8], ctl[a + 9], ctl[a + 10], ctl[a + 11], ctl[a + 12], ctl[a + 13]);
    else if (op === ${OP_NT}) k.nt(ctl[a], ctl[a + 1], ctl[a + 2], ctl[a + 3], ctl[a + 4], ctl[a + 5], ctl[a + 6], ctl[a + 7], ctl[a + 8], ctl[a + 9]);
    else if (op === ${OP_ADAM}) {
      const lo = ctl[a + 4] * 4, n = ctl[a + 5] - ctl[a + 4];
      k.adam(ctl[a] + lo, ctl[a + 1] + lo, ctl[a + 2] + lo, ctl[a + 3] + lo, n, fl[0], fl[1], fl[2], fl[3], fl[4], fl[5]);
    }
    else if (op === ${OP_AFFINE}) k.affine(ctl[a], ctl[a + 1], ctl[a + 2], ctl[a + 3], ctl[a + 4], ctl[a + 5], ctl[a + 6], ctl[a + 7], fl[0], fl[1]);
    else if (op === ${OP_AFFINE_BACK}) k.affineBack(ctl[a], ctl[a + 1], ctl[a + 2], ctl[a + 3], ctl[a + 4], ctl[a + 5], ctl[a + 6], ctl[a + 7], ctl[a + 8], fl[0], fl[1]);
    else if (op === ${OP_IM2COL}) k.im2col(ctl[a], ctl[a + 1], ctl[a + 2], ctl[a + 3], ctl[a + 4], ctl[a + 5], ctl[a + 6], ctl[a + 7], ctl[a + 8], ctl[a + 9], ctl[a + 10]);
    else if (op === ${OP_POOL}) k.maxPool(ctl[a], ctl[a + 1], ctl[a + 2], ctl[a + 3], ctl[a + 4], ctl[a + 5], ctl[a + 6], ctl[a + 7]);
    else if (op === ${OP_LRN}) k.lrn(ctl[a], ctl[a + 1], ctl[a + 2], ctl[a + 3], ctl[a + 4], fl[0], fl[1]);
    else if (op === ${OP_POOL_SAME}) k.maxPoolSame(ctl[a], ctl[a + 1], ctl[a + 2], ctl[a + 3], ctl[a + 4], ctl[a + 5], ctl[a + 6]);

    } catch (e) {
      Atomics.store(ctl, ${ERR}, 1);
    }
    Atomics.store(ctl, ${DONE}, seen);
    Atomics.notify(ctl, ${DONE});
  }
}`;

type NNArgs = [number, number, number, number, number, number, number, number, number, number, number, number, number, number];
type Im2colArgs = [number, number, number, number, number, number, number, number, number, number, number];
type PoolArgs = [number, number, number, number, number, number, number, number];

interface Helper {
  thread: HelperThread;
  ctl: Int32Array;
  floats: Float64Array;
  seq: number;
}

/** The WebAssembly kernels (products, Adam, the couplings, the backbone's im2col, pools and LRN) on one memory, on this thread and any helpers. */
export class GemmRunner {
  readonly f32: Float32Array;
  private readonly k: GemmExports;
  private disposed = false;

  private constructor(
    readonly memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    private readonly helpers: Helper[],
  ) {
    this.k = instantiateGemm(module, memory);
    this.f32 = new Float32Array(memory.buffer);
  }

  /** Threads working on each product, this one included. */
  get threads(): number {
    return this.helpers.length + 1;
  }

  /**
   * A runner over `bytes` bytes of fresh memory with `helpers` helper threads (none without a spawner or
   * without SharedArrayBuffer, e.g. a page that is not cross-origin isolated).
   */
  static async create(bytes: number, helpers = 0, spawn?: ThreadSpawner, flavour: KernelFlavour = bestFlavour()): Promise<GemmRunner> {
    const threaded = helpers > 0 && !!spawn && typeof SharedArrayBuffer !== 'undefined';
    const { module, memory } = gemmModule(bytes, threaded, flavour);
    const started: Helper[] = [];
    if (threaded) {
      try {
        for (let h = 0; h < helpers; h++) {
          const control = new SharedArrayBuffer(CONTROL_BYTES);
          const thread = await spawn(HELPER_SOURCE, { module, memory, control });
          started.push({ thread, ctl: new Int32Array(control, 0, CONTROL_INTS), floats: new Float64Array(control, FLOATS_AT, 8), seq: 0 });
        }
      } catch (e) {
        for (const s of started) s.thread.terminate();
        throw e;
      }
    }
    return new GemmRunner(memory, module, started);
  }

  /** C = A B over all columns; see gemmKernels.ts for the arguments. */
  nn(a: number, ars: number, acs: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number, bias = 0, relu = false): void {
    const r = relu ? 1 : 0;
    this.split(n, 8, OP_NN, (j0, j1) => [a, ars, acs, b, ldb, c, ldc, m, j0, j1, k, bias, r, 32], (j0, j1) => this.k.nn(a, ars, acs, b, ldb, c, ldc, m, j0, j1, k, bias, r, 32));
  }

  /**
   * C = A B split by rows of C instead of columns: for tall products (a convolution's pixels), where a
   * column split would have every thread read all of A. A is read as rows (A(i, p) = a[i ars + p]), B
   * in strips of 8 columns (the strips of backbones/hostBackbone.ts's patchMatrix).
   */
  nnRows(a: number, ars: number, b: number, c: number, ldc: number, m: number, n: number, k: number, bias = 0, relu = false): void {
    const r = relu ? 1 : 0;
    const args = (r0: number, r1: number) => [a + 4 * r0 * ars, ars, 1, b, 8, c + 4 * r0 * ldc, ldc, r1 - r0, 0, n, k, bias, r, 32 * k];
    this.split(m, 4, OP_NN, args, (r0, r1) => this.k.nn(...(args(r0, r1) as NNArgs)));
  }

  /** Patch rows of a convolution (convKernels.ts), split by output rows where the copies are whole 16-byte groups. */
  im2col(x: number, h: number, w: number, c: number, k: number, s: number, pad: number, oh: number, ow: number, out: number): void {
    const args = (r0: number, r1: number) => [x, h, w, c, k, s, pad, ow, out, r0, r1];
    // With c not a multiple of 4 a run's last copy spills into the next output row's bytes, which another
    // thread may already have written.
    if (c % 4 !== 0) this.local(() => this.k.im2col(...(args(0, oh) as Im2colArgs)));
    else this.split(oh, 1, OP_IM2COL, args, (r0, r1) => this.k.im2col(...(args(r0, r1) as Im2colArgs)));
  }

  /** 3x3 / stride 2 max pool into oh x ow (convKernels.ts), split by output rows. */
  maxPool(x: number, h: number, w: number, c: number, oh: number, ow: number, out: number): void {
    if (c % 4 !== 0) throw new Error('the max pool runs on whole groups of 4 channels');
    const args = (r0: number, r1: number) => [x, h, w, c, ow, out, r0, r1];
    this.split(oh, 1, OP_POOL, args, (r0, r1) => this.k.maxPool(...(args(r0, r1) as PoolArgs)));
  }

  /**
   * dx += the 3x3 max pool's gradient (convKernels.ts maxPoolBack), on this thread: overlapping windows
   * would have threads add into the same pixels.
   */
  maxPoolBack(x: number, h: number, c: number, stride: 1 | 2, o: number, g: number, dx: number): void {
    if (c % 4 !== 0) throw new Error('the max pool runs on whole groups of 4 channels');
    this.local(() => this.k.maxPoolBack(x, h, c, stride, stride === 1 ? 1 : 0, o, g, dx));
  }

  /**
   * Caffe's LRN across channels (poolKernels.ts) of `pixels` pixels at x into out, split by pixels. Size 5 and
   * beta 0.75 only, GoogLeNet's: the kernel raises to the power -0.75 with two square roots.
   */
  lrn(x: number, out: number, pixels: number, ch: number, p: { size: number; alpha: number; beta: number; k: number }): void {
    if (p.size !== 5 || p.beta !== 0.75) throw new Error(`the LRN kernel computes size 5 and beta 0.75, not size ${p.size} and beta ${p.beta}`);
    if (ch % 4 !== 0) throw new Error('the LRN runs on whole groups of 4 channels');
    if (x < 8) throw new Error('the LRN reads 8 bytes before its input, which must start at byte 8 or later');
    const scale = p.alpha / p.size;
    this.split(pixels, 1, OP_LRN, (p0, p1) => [x, out, ch, p0, p1], (p0, p1) => this.k.lrn(x, out, ch, p0, p1, p.k, scale), [p.k, scale]);
  }

  /** 3x3 / stride 1 max pool of an h x w image, windows clipped to it (poolKernels.ts), split by rows. */
  maxPoolSame(x: number, h: number, w: number, c: number, out: number): void {
    if (c % 4 !== 0) throw new Error('the max pool runs on whole groups of 4 channels');
    const args = (r0: number, r1: number) => [x, h, w, c, out, r0, r1];
    this.split(h, 1, OP_POOL_SAME, args, (r0, r1) => this.k.maxPoolSame(x, h, w, c, out, r0, r1));
  }

  /** dx += patch gradients scattered back to their pixels (convKernels.ts col2imAdd), on this thread: patches overlap. */
  col2imAdd(dcol: number, ld: number, dx: number, h: number, c: number, k: number, s: number, pad: number, o: number): void {
    if (c % 4 !== 0) throw new Error('col2im runs on whole groups of 4 channels');
    this.local(() => this.k.col2imAdd(dcol, ld, dx, h, c, k, s, pad, o));
  }

  /** C = A B^T over all columns. */
  nt(a: number, lda: number, b: number, ldb: number, c: number, ldc: number, m: number, n: number, k: number): void {
    this.split(n, 4, OP_NT, (j0, j1) => [a, lda, b, ldb, c, ldc, m, j0, j1, k], (j0, j1) => this.k.nt(a, lda, b, ldb, c, ldc, m, j0, j1, k));
  }

  /** One Adam update of `count` parameters, gradients and moments stored at byte offsets p, g, m, v. */
  adam(p: number, g: number, m: number, v: number, count: number, s: AdamStep): void {
    const floats = [s.beta1, s.beta2, s.eps, s.weightDecay, s.rate, s.invSqrtBc2];
    if (count % 4 !== 0) throw new Error('Adam runs on whole groups of 4 floats');
    this.split(count, 4, OP_ADAM, (lo, hi) => [p, g, m, v, lo, hi], (lo, hi) => this.k.adam(p + 4 * lo, g + 4 * lo, m + 4 * lo, v + 4 * lo, hi - lo, s.beta1, s.beta2, s.eps, s.weightDecay, s.rate, s.invSqrtBc2), floats);
  }

  /** The affine coupling's forward over `rows` rows (split by rows); see couplingKernels.ts. */
  affine(o: number, x: number, ls: number, e: number, y: number, l: number, rows: number, c: number, k: number): void {
    this.split(rows, 1, OP_AFFINE, (r0, r1) => [o, x, ls, e, y, l, r0, r1], (r0, r1) => this.k.affine(o, x, ls, e, y, l, r0, r1, c, k), [c, k]);
  }

  affineBack(dy: number, e: number, x: number, o: number, dO: number, dx: number, l: number, rows: number, c: number, g: number): void {
    this.split(rows, 1, OP_AFFINE_BACK, (r0, r1) => [dy, e, x, o, dO, dx, l, r0, r1], (r0, r1) => this.k.affineBack(dy, e, x, o, dO, dx, l, r0, r1, c, g), [c, g]);
  }

  /** d = h > 0 ? d : 0 over `count` floats (a multiple of 4), on this thread: a few microseconds, less than a hand-off. */
  reluMask(h: number, d: number, count: number): void {
    if (count % 4 !== 0) throw new Error('the ReLU mask runs on whole groups of 4 floats');
    if (this.disposed) throw new Error('the WebAssembly kernels were released');
    this.k.reluMask(h, d, count);
  }

  /**
   * The flow step's glue (glueKernels.ts), on this thread: each is a fraction of a millisecond, less than
   * a hand-off would cost.
   */
  get glue(): Pick<GemmExports, 'gather' | 'scatter' | 'clipCopy' | 'maskCopy' | 'addTo' | 'rowSums' | 'scaleCopy'> {
    if (this.disposed) throw new Error('the WebAssembly kernels were released');
    return this.k;
  }

  private local(run: () => void): void {
    if (this.disposed) throw new Error('the WebAssembly kernels were released');
    run();
  }

  private split(n: number, unit: number, op: number, args: (lo: number, hi: number) => number[], local: (lo: number, hi: number) => void, floats?: number[]): void {
    if (this.disposed) throw new Error('the WebAssembly kernels were released');
    const parts = Math.min(this.threads, Math.floor(n / unit));
    if (parts <= 1) {
      local(0, n);
      return;
    }
    const units = n / unit;
    const bound = (p: number) => (p === parts ? n : Math.round((units * p) / parts) * unit);
    for (let h = 1; h < parts; h++) this.post(this.helpers[h - 1], op, args(bound(h), bound(h + 1)), floats);
    local(0, bound(1));
    for (let h = 1; h < parts; h++) this.wait(this.helpers[h - 1]);
  }

  private post(h: Helper, op: number, args: number[], floats?: number[]): void {
    h.ctl[OP] = op;
    args.forEach((x, i) => (h.ctl[ARGS + i] = x));
    floats?.forEach((x, i) => (h.floats[i] = x));
    h.seq = (h.seq + 1) | 0;
    Atomics.store(h.ctl, SEQ, h.seq);
    Atomics.notify(h.ctl, SEQ);
  }

  private wait(h: Helper): void {
    let spins = 0;
    let waited = 0;
    while (Atomics.load(h.ctl, DONE) !== h.seq) {
      if (++spins > 20000) {
        // Waits on the value that means "still working" (DONE lags SEQ by one while a job is out): a value
        // read afresh here could already be the finished one, and the wait would sleep through its notify.
        // Timed, so that a helper that died (its thread gone, nothing to notify us) is noticed.
        if (Atomics.wait(h.ctl, DONE, (h.seq - 1) | 0, 1000) === 'timed-out' && ++waited >= 30) {
          throw new Error('a kernel helper thread stopped answering (30 s without finishing its share of a job)');
        }
      }
    }
    if (Atomics.load(h.ctl, ERR)) throw new Error('a kernel helper thread failed while computing its share of a job');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const h of this.helpers) {
      h.ctl[OP] = OP_STOP;
      h.seq = (h.seq + 1) | 0;
      Atomics.store(h.ctl, SEQ, h.seq);
      Atomics.notify(h.ctl, SEQ);
      h.thread.terminate();
    }
  }
}
