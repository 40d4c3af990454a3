import { convOut, planConvs, planShapes, poolOut, resolveTaps, type BackbonePlan, type BranchStep, type PlanConv } from './plan';
import type { HostForward } from './types';
import { bestFlavour, type KernelFlavour } from '../wasm/gemmKernels';
import { IM2COL_SLACK } from '../wasm/convKernels';
import { GemmRunner, type ThreadSpawner } from '../wasm/threads';

/*
 * The backbone's forward pass on the engine's own kernels: each convolution one product (im2col patches
 * times the weights, bias and ReLU fused, split by pixels across threads), Fire's two expands written side
 * by side into one output (no concat), like the branches of GoogLeNet's inceptions, the pools and the
 * global average here too. TF.js's WASM backend
 * (XNNPACK, without fused multiply-adds) ran SqueezeNet's convolutions at about 19 GFLOP/s on one core of
 * this machine; these products at 29-40 (BENCHMARKS.md). Forward only: defect maps differentiate through
 * the TF.js backbone (tfBackbone.ts), which computes the same floats up to rounding.
 */

export interface HostThreads {
  helpers: number;
  spawn?: ThreadSpawner;
  flavour?: KernelFlavour;
}

interface ConvAt {
  /** Byte offsets of its weight matrix [k k in, out] and bias. */
  w: number;
  b: number;
}

const ALIGN = 16;

/**
 * The weights as the product's right operand, row (ky k + kx) in + ci and column co, stored in strips of 8
 * columns (all rows of columns 0-7, then of 8-15, ...), as nnRows reads it.
 */
function patchMatrix(c: PlanConv): Float32Array {
  const [cout, cin, k] = c.shape;
  const rows = k * k * cin;
  const out = new Float32Array(rows * cout);
  for (let co = 0; co < cout; co++) {
    const strip = (co >> 3) * rows * 8;
    for (let ci = 0; ci < cin; ci++) {
      for (let t = 0; t < k * k; t++) out[strip + (t * cin + ci) * 8 + (co & 7)] = c.weight[(co * cin + ci) * k * k + t];
    }
  }
  return out;
}

/** Why this plan cannot run here, or null. The products take output channels in groups of 8. */
export function hostBackboneUnsupported(plan: BackbonePlan): string | null {
  const odd = planConvs(plan).find((c) => c.shape[0] % 8 !== 0);
  if (odd) return `${odd.name} has ${odd.shape[0]} output channels, not a multiple of 8`;
  const open = plan.steps.find((s) => s.op === 'inception' && s.branches.some((b) => b[b.length - 1].op !== 'conv'));
  if (open) return 'an inception branch ends in a pool';
  const lrn = plan.steps.find((s) => s.op === 'lrn' && (s.size !== 5 || s.beta !== 0.75));
  if (lrn?.op === 'lrn') return `its LRN has size ${lrn.size} and beta ${lrn.beta}; the kernel computes size 5 and beta 0.75`;
  return null;
}

const isPointwise = (c: PlanConv) => c.shape[2] === 1 && c.stride === 1 && c.pad === 0;

export class HostBackbone implements HostForward {
  private runner: GemmRunner | null = null;
  private side = 0;
  private at = new Map<PlanConv, ConvAt>();
  private buffers = { input: 0, ping: 0, pong: 0, col: 0, squeeze: 0, branch: 0 };
  private disposed = false;
  private growing: Promise<void> | null = null;
  /** Sides already checked against the plan (too small a side fails as TF.js's path would, not as NaN). */
  private readonly sides = new Set<number>();

  private constructor(
    private readonly plan: BackbonePlan,
    private readonly opts: HostThreads,
  ) {}

  static async create(plan: BackbonePlan, opts: HostThreads, side = 224): Promise<HostBackbone> {
    const why = hostBackboneUnsupported(plan);
    if (why) throw new Error(`${plan.id} cannot run on the engine's kernels: ${why}`);
    const host = new HostBackbone(plan, opts);
    await host.reserve(side);
    return host;
  }

  get threads(): number {
    return this.runner?.threads ?? 1;
  }

  /** Disposed, or broken by a failed helper thread (a new one is needed). */
  get released(): boolean {
    return this.disposed;
  }

  /** Memory for inputs up to `side` px; one growth at a time, and never a shrink. */
  private async reserve(side: number): Promise<void> {
    while (side > this.side && !this.disposed) {
      this.growing ??= this.grow(side).finally(() => (this.growing = null));
      await this.growing;
    }
    if (this.disposed) throw new Error('the backbone kernels were released');
  }

  /** A new runner laid out for `side` px (fixed-size shared memories cannot grow). */
  private async grow(side: number): Promise<void> {
    const all = planConvs(this.plan);
    let o = 0;
    const take = (floats: number) => {
      const at = o;
      o += Math.ceil((4 * floats + IM2COL_SLACK) / ALIGN) * ALIGN;
      return at;
    };
    const at = new Map<PlanConv, ConvAt>();
    for (const c of all) at.set(c, { w: take(c.shape[1] * c.shape[2] ** 2 * c.shape[0]), b: take(c.shape[0]) });
    // Largest activation, patch matrix, and the two scratch images a Fire or an inception branch needs.
    let act = 0;
    let col = 0;
    const scratch = [0, 0];
    let cur = { side, channels: 3 };
    const patches = (c: PlanConv, inSide: number) => (isPointwise(c) ? 0 : convOut(inSide, c) ** 2 * c.shape[1] * c.shape[2] ** 2);
    const branch = (steps: BranchStep[]) => {
      let h = cur.side;
      let ch = cur.channels;
      steps.forEach((t, j) => {
        if (t.op === 'conv') {
          col = Math.max(col, patches(t.conv, h));
          h = convOut(h, t.conv);
          ch = t.conv.shape[0];
        } else h = poolOut(h, t.ceil, t.stride);
        if (j < steps.length - 1) scratch[j % 2] = Math.max(scratch[j % 2], h * h * ch);
      });
    };
    const shapes = planShapes(this.plan, side);
    this.plan.steps.forEach((s, i) => {
      if (s.op === 'conv') col = Math.max(col, patches(s.conv, cur.side));
      if (s.op === 'fire') branch([{ op: 'conv', conv: s.squeeze }, { op: 'conv', conv: s.expand3x3 }]);
      if (s.op === 'inception') s.branches.forEach(branch);
      cur = shapes[i];
      act = Math.max(act, cur.side ** 2 * cur.channels);
    });
    const buffers = { input: take(side * side * 3), ping: take(act), pong: take(act), col: take(col), squeeze: take(scratch[0]), branch: take(scratch[1]) };
    const runner = await GemmRunner.create(o, this.opts.helpers, this.opts.spawn, this.opts.flavour ?? bestFlavour());
    if (this.disposed || side <= this.side) {
      runner.dispose();
      return;
    }
    for (const c of all) {
      const a = at.get(c)!;
      runner.f32.set(patchMatrix(c), a.w / 4);
      runner.f32.set(c.bias, a.b / 4);
    }
    this.runner?.dispose();
    this.runner = runner;
    this.at = at;
    this.buffers = buffers;
    this.side = side;
  }

  async pooled(rgb: Float32Array, side: number, taps?: readonly string[]): Promise<Float32Array> {
    if (rgb.length !== side * side * 3) throw new Error(`expected a ${side}x${side} RGB image, got ${rgb.length} floats`);
    if (!this.sides.has(side)) {
      planShapes(this.plan, side);
      this.sides.add(side);
    }
    await this.reserve(side);
    const run = this.runner!;
    try {
      return this.forward(run, rgb, side, taps);
    } catch (e) {
      // A helper that failed leaves the runner unusable: released, so that hostForward makes a new one.
      this.dispose();
      throw e;
    }
  }

  private forward(run: GemmRunner, rgb: Float32Array, side: number, names?: readonly string[]): Float32Array {
    const { mean, std } = this.plan.input;
    const f32 = run.f32;
    const inAt = this.buffers.input / 4;
    for (let i = 0; i < side * side; i++) {
      for (let c = 0; c < 3; c++) f32[inAt + 3 * i + c] = (rgb[3 * i + c] - mean[c]) / std[c];
    }
    const taps = resolveTaps(this.plan, names);
    const shapes = planShapes(this.plan, side);
    const out = new Float32Array(taps.reduce((a, t) => a + t.channels, 0));
    let filled = 0;
    let src = this.buffers.input;
    let h = side;
    let ch = 3;
    const next = () => (src === this.buffers.ping ? this.buffers.pong : this.buffers.ping);
    const last = taps[taps.length - 1].step;
    for (let i = 0; i <= last; i++) {
      const s = this.plan.steps[i];
      const dst = next();
      if (s.op === 'conv') {
        h = this.conv(s.conv, src, h, dst, s.conv.shape[0], 0);
        ch = s.conv.shape[0];
      } else if (s.op === 'pool') {
        h = this.pool(s.ceil, s.stride, src, h, ch, dst);
      } else if (s.op === 'lrn') {
        run.lrn(src, dst, h * h, ch, s);
      } else if (s.op === 'fire') {
        const e1 = s.expand1x1.shape[0];
        ch = e1 + s.expand3x3.shape[0];
        const sh = this.conv(s.squeeze, src, h, this.buffers.squeeze, s.squeeze.shape[0], 0);
        this.conv(s.expand1x1, this.buffers.squeeze, sh, dst, ch, 0);
        h = this.conv(s.expand3x3, this.buffers.squeeze, sh, dst, ch, e1);
      } else {
        const total = shapes[i].channels;
        let col0 = 0;
        let oh = h;
        for (const b of s.branches) {
          const r = this.branch(b, src, h, ch, dst, total, col0);
          col0 += r.channels;
          oh = r.side;
        }
        h = oh;
        ch = total;
      }
      src = dst;
      if (taps.some((t) => t.step === i)) {
        // Global average pooling, summed in float64.
        const sums = new Float64Array(ch);
        const base = src / 4;
        for (let p = 0; p < h * h; p++) {
          const row = base + p * ch;
          for (let c = 0; c < ch; c++) sums[c] += f32[row + c];
        }
        for (let c = 0; c < ch; c++) out[filled + c] = sums[c] / (h * h);
        filled += ch;
      }
    }
    return out;
  }

  /** One inception branch on (h x h x ch) at `src`, its last convolution writing channels [col0, ...) of `dst`. */
  private branch(steps: BranchStep[], src: number, h: number, ch: number, dst: number, ldc: number, col0: number): { side: number; channels: number } {
    const scratch = [this.buffers.squeeze, this.buffers.branch];
    let at = src;
    steps.forEach((t, j) => {
      const lastStep = j === steps.length - 1;
      const to = lastStep ? dst : scratch[j % 2];
      if (t.op === 'conv') {
        h = this.conv(t.conv, at, h, to, lastStep ? ldc : t.conv.shape[0], lastStep ? col0 : 0);
        ch = t.conv.shape[0];
      } else h = this.pool(t.ceil, t.stride, at, h, ch, to);
      at = to;
    });
    return { side: h, channels: ch };
  }

  private pool(ceil: boolean, stride: 2 | 1 | undefined, src: number, h: number, ch: number, dst: number): number {
    const o = poolOut(h, ceil, stride);
    if (stride === 1) this.runner!.maxPoolSame(src, h, h, ch, dst);
    else this.runner!.maxPool(src, h, h, ch, o, o, dst);
    return o;
  }

  /** conv + bias + ReLU of a (side x side x in) image at `src` into channels [col0, col0 + out) of rows `ldc` wide at `dst`. */
  private conv(c: PlanConv, src: number, side: number, dst: number, ldc: number, col0: number): number {
    const run = this.runner!;
    const { w, b } = this.at.get(c)!;
    const [cout, cin, k] = c.shape;
    const o = convOut(side, c);
    let a = src;
    if (!isPointwise(c)) {
      run.im2col(src, side, side, cin, k, c.stride, c.pad, o, o, this.buffers.col);
      a = this.buffers.col;
    }
    run.nnRows(a, k * k * cin, w, dst + 4 * col0, ldc, o * o, cout, k * k * cin, b, true);
    return o;
  }

  dispose(): void {
    this.disposed = true;
    this.runner?.dispose();
    this.runner = null;
  }
}

