import { convOut, planConvs, planShapes, poolOut, resolveTaps, tapWidth, type BackbonePlan, type BranchStep, type PlanConv } from './plan';
import type { HostForward } from './types';
import { bestFlavour, type KernelFlavour } from '../wasm/gemmKernels';
import { IM2COL_SLACK } from '../wasm/convKernels';
import { col2imAdd, lrnBack, maxPoolBackAdd, patchColumns, reluBackInPlace, reluBackSlice, transposedPatchMatrix } from './hostBackward';
import { GemmRunner, type ThreadSpawner } from '../wasm/threads';

/*
 * The backbone's forward pass on the engine's own kernels: each convolution one product (im2col patches
 * times the weights, bias and ReLU fused, split by pixels across threads), Fire's two expands written side
 * by side into one output (no concat), like the branches of GoogLeNet's inceptions, the pools and the
 * global average here too. TF.js's WASM backend
 * (XNNPACK, without fused multiply-adds) ran SqueezeNet's convolutions at about 19 GFLOP/s on one core of
 * this machine; these products at 29-40 (BENCHMARKS.md). inputGradient also runs the backward for data
 * (defect maps): the forward keeps every activation (a tape per scale), then each convolution's dY times its
 * weights transposed on the same products, scattered back to pixels, through ReLU masks, pools and LRN
 * (hostBackward.ts). The tape's memory is laid out on the first gradient and kept.
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
  /** Byte offset of its transposed weights (hostBackward.ts transposedPatchMatrix) where a tape is laid out. */
  wt: number;
}

/** Where one scale's forward pass keeps its activations. Byte offsets. */
interface TapeScale {
  side: number;
  /** Output of each step. */
  out: number[];
  /** Outputs inside step i: Fire's squeeze as [0][0], inception branch b's step j (all but its last) as [b][j]. */
  inner: number[][][];
}

/** The memory of the backward pass, for scales of these sides. */
interface Tape {
  scales: TapeScale[];
  /** Gradients of a step's output and of its input. */
  grad: [number, number];
  /** Gradients inside a Fire or an inception. */
  scratch: [number, number, number];
  /** Patch gradients (dY W^T) before they are scattered back. */
  dcol: number;
}

/** Where step i's output and the outputs inside it go. */
interface Slots {
  out(i: number): number;
  inner(i: number, b: number, j: number): number;
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

/** Whether a tape laid out for its sides holds scales of `sides` (a smaller image needs no more at any step). */
function tapeCovers(tape: Tape | null, sides: readonly number[]): boolean {
  return !!tape && sides.length <= tape.scales.length && sides.every((s, i) => s <= tape.scales[i].side);
}

/** The tape's buffers for scales of `sides` px, from the allocator `take` (floats -> byte offset). */
function layTape(plan: BackbonePlan, sides: readonly number[], take: (floats: number) => number): Tape {
  let grad = 0;
  let scratch = 0;
  let dcol = 0;
  const convBack = (c: PlanConv, inSide: number) => (dcol = Math.max(dcol, convOut(inSide, c) ** 2 * patchColumns(c)));
  const scales = sides.map((side) => {
    const shapes = planShapes(plan, side);
    let cur = { side, channels: 3 };
    grad = Math.max(grad, side * side * 3);
    const out: number[] = [];
    const inner: number[][][] = [];
    plan.steps.forEach((s, i) => {
      const here: number[][] = [];
      if (s.op === 'conv') convBack(s.conv, cur.side);
      if (s.op === 'fire') {
        const sq = convOut(cur.side, s.squeeze) ** 2 * s.squeeze.shape[0];
        here.push([take(sq)]);
        scratch = Math.max(scratch, sq);
        convBack(s.squeeze, cur.side);
        convBack(s.expand1x1, convOut(cur.side, s.squeeze));
        convBack(s.expand3x3, convOut(cur.side, s.squeeze));
      }
      if (s.op === 'inception') {
        for (const b of s.branches) {
          let h = cur.side;
          let ch = cur.channels;
          const steps: number[] = [];
          b.forEach((t, j) => {
            if (t.op === 'conv') {
              convBack(t.conv, h);
              h = convOut(h, t.conv);
              ch = t.conv.shape[0];
            } else h = poolOut(h, t.ceil, t.stride);
            scratch = Math.max(scratch, h * h * ch);
            if (j < b.length - 1) steps.push(take(h * h * ch));
          });
          here.push(steps);
        }
      }
      cur = shapes[i];
      out.push(take(cur.side ** 2 * cur.channels));
      inner.push(here);
      grad = Math.max(grad, cur.side ** 2 * cur.channels);
    });
    return { side, out, inner };
  });
  return { scales, grad: [take(grad), take(grad)], scratch: [take(scratch), take(scratch), take(scratch)], dcol: take(dcol) };
}

const isPointwise = (c: PlanConv) => c.shape[2] === 1 && c.stride === 1 && c.pad === 0;

export class HostBackbone implements HostForward {
  private runner: GemmRunner | null = null;
  private side = 0;
  private at = new Map<PlanConv, ConvAt>();
  private buffers = { input: 0, ping: 0, pong: 0, col: 0, squeeze: 0, branch: 0 };
  private tape: Tape | null = null;
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

  /** Bytes of memory the kernels hold now (weights, activations, and the tape once a gradient was asked for). */
  get bytes(): number {
    return this.runner?.memory.buffer.byteLength ?? 0;
  }

  /**
   * Memory for inputs up to `side` px, and a tape for scales of `tape` sides if asked; one growth at a time,
   * and never a shrink.
   */
  private async reserve(side: number, tape?: readonly number[]): Promise<void> {
    const covered = () => side <= this.side && (!tape || tapeCovers(this.tape, tape));
    while (!covered() && !this.disposed) {
      const sides = tape ? tape.map((t, i) => Math.max(t, this.tape?.scales[i]?.side ?? 0)) : this.tape?.scales.map((t) => t.side);
      this.growing ??= this.grow(Math.max(side, this.side), sides).finally(() => (this.growing = null));
      await this.growing;
    }
    if (this.disposed) throw new Error('the backbone kernels were released');
  }

  /** A new runner laid out for `side` px, with a tape for `tapeSides` if given (fixed-size shared memories cannot grow). */
  private async grow(side: number, tapeSides?: number[]): Promise<void> {
    const all = planConvs(this.plan);
    let o = 0;
    const take = (floats: number) => {
      const at = o;
      o += Math.ceil((4 * floats + IM2COL_SLACK) / ALIGN) * ALIGN;
      return at;
    };
    const at = new Map<PlanConv, ConvAt>();
    for (const c of all) at.set(c, { w: take(c.shape[1] * c.shape[2] ** 2 * c.shape[0]), b: take(c.shape[0]), wt: tapeSides ? take(patchColumns(c) * c.shape[0]) : 0 });
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
    const tape = tapeSides ? layTape(this.plan, tapeSides, take) : null;
    const runner = await GemmRunner.create(o, this.opts.helpers, this.opts.spawn, this.opts.flavour ?? bestFlavour());
    if (this.disposed || (side <= this.side && (!tapeSides || tapeCovers(this.tape, tapeSides)))) {
      runner.dispose();
      return;
    }
    for (const c of all) {
      const a = at.get(c)!;
      runner.f32.set(patchMatrix(c), a.w / 4);
      runner.f32.set(c.bias, a.b / 4);
      if (tape) runner.f32.set(transposedPatchMatrix(c), a.wt / 4);
    }
    this.runner?.dispose();
    this.runner = runner;
    this.at = at;
    this.buffers = buffers;
    this.tape = tape;
    this.side = side;
  }

  /** `maxThreads`: at most this many threads for this image (GemmRunner.limited); default all of them. */
  async pooled(rgb: Float32Array, side: number, taps?: readonly string[], maxThreads?: number): Promise<Float32Array> {
    if (rgb.length !== side * side * 3) throw new Error(`expected a ${side}x${side} RGB image, got ${rgb.length} floats`);
    if (!this.sides.has(side)) {
      planShapes(this.plan, side);
      this.sides.add(side);
    }
    await this.reserve(side);
    const run = this.runner!;
    try {
      return run.limited(maxThreads, () => this.forward(run, rgb, side, taps, this.pingPong()));
    } catch (e) {
      // A helper that failed leaves the runner unusable: released, so that the WebAssembly feature engine (execution/wasmEngine.ts) makes a new one.
      this.dispose();
      throw e;
    }
  }

  /** Activations that need not outlive their next step: alternating between two images and two scratches. */
  private pingPong(): Slots {
    const b = this.buffers;
    return { out: (i) => (i % 2 === 0 ? b.ping : b.pong), inner: (_i, _b, j) => (j % 2 === 0 ? b.squeeze : b.branch) };
  }

  private forward(run: GemmRunner, rgb: Float32Array, side: number, names: readonly string[] | undefined, slots: Slots): Float32Array {
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
    const last = taps[taps.length - 1].step;
    for (let i = 0; i <= last; i++) {
      const s = this.plan.steps[i];
      const dst = slots.out(i);
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
        const sq = slots.inner(i, 0, 0);
        const sh = this.conv(s.squeeze, src, h, sq, s.squeeze.shape[0], 0);
        this.conv(s.expand1x1, sq, sh, dst, ch, 0);
        h = this.conv(s.expand3x3, sq, sh, dst, ch, e1);
      } else {
        const total = shapes[i].channels;
        let col0 = 0;
        let oh = h;
        for (const [bi, b] of s.branches.entries()) {
          const r = this.branch(b, src, h, ch, dst, total, col0, (j) => slots.inner(i, bi, j));
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

  /**
   * The gradient of a loss of the pooled features with respect to the normalised input pixels ((rgb - mean) /
   * std), for one image given at several scales (RGB in [0, 1], [side, side, 3] each). `back` gets each scale's
   * pooled taps (as pooled() returns them) and returns the loss's gradient with respect to them; it runs
   * synchronously between the forward and the backward pass, which share the tape. `maxThreads` as for pooled().
   */
  async inputGradient(images: readonly { rgb: Float32Array; side: number }[], taps: readonly string[] | undefined, back: (pooled: Float32Array[]) => Float32Array[], maxThreads?: number): Promise<Float32Array[]> {
    const sides = images.map((im) => im.side);
    images.forEach(({ rgb, side }) => {
      if (rgb.length !== side * side * 3) throw new Error(`expected a ${side}x${side} RGB image, got ${rgb.length} floats`);
      planShapes(this.plan, side);
    });
    await this.reserve(Math.max(...sides), sides);
    const run = this.runner!;
    const tape = this.tape!;
    try {
      return run.limited(maxThreads, () => {
        const pooled = images.map(({ rgb, side }, s) => this.forward(run, rgb, side, taps, { out: (i) => tape.scales[s].out[i], inner: (i, b, j) => tape.scales[s].inner[i][b][j] }));
        const grads = back(pooled);
        return images.map(({ side }, s) => this.backward(run, tape.scales[s], side, taps, grads[s]));
      });
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** The backward for data of one scale whose forward pass is on `scale`, from the gradient of its pooled taps. */
  private backward(run: GemmRunner, scale: TapeScale, side: number, names: readonly string[] | undefined, dPooled: Float32Array): Float32Array {
    const f32 = run.f32;
    const tape = this.tape!;
    const taps = resolveTaps(this.plan, names);
    if (dPooled.length !== tapWidth(taps)) throw new Error(`expected ${tapWidth(taps)} pooled gradients, got ${dPooled.length}`);
    const shapes = planShapes(this.plan, side);
    const last = taps[taps.length - 1].step;
    let [g, spare] = tape.grad;
    f32.fill(0, g / 4, g / 4 + shapes[last].side ** 2 * shapes[last].channels);
    let tapAt = dPooled.length;
    for (let i = last; i >= 0; i--) {
      const s = this.plan.steps[i];
      const { side: h, channels: ch } = shapes[i];
      const pixels = h * h;
      const tap = taps.find((t) => t.step === i);
      if (tap) {
        // Global average pooling's backward: each pixel gets 1 / pixels of its channel's gradient.
        tapAt -= ch;
        for (let p = 0; p < pixels; p++) {
          const row = g / 4 + p * ch;
          for (let c = 0; c < ch; c++) f32[row + c] += dPooled[tapAt + c] / pixels;
        }
      }
      const inSide = i === 0 ? side : shapes[i - 1].side;
      const inCh = i === 0 ? 3 : shapes[i - 1].channels;
      // The first step is a convolution (the stem), whose input the backward does not read.
      const x = i === 0 ? -1 : scale.out[i - 1];
      if (s.op === 'conv') {
        run.reluMask(scale.out[i], g, pixels * ch);
        this.convBack(s.conv, g, ch, inSide, spare, false);
      } else if (s.op === 'pool') {
        f32.fill(0, spare / 4, spare / 4 + inSide * inSide * inCh);
        this.poolBack(x, inSide, inCh, s.stride ?? 2, h, g, spare);
      } else if (s.op === 'lrn') {
        lrnBack(f32, x / 4, g / 4, spare / 4, pixels, ch, s);
      } else if (s.op === 'fire') {
        run.reluMask(scale.out[i], g, pixels * ch);
        const sq = scale.inner[i][0][0];
        const dSq = tape.scratch[0];
        const e1 = s.expand1x1.shape[0];
        const sqSide = convOut(inSide, s.squeeze);
        this.convBack(s.expand1x1, g, ch, sqSide, dSq, false);
        this.convBack(s.expand3x3, g + 4 * e1, ch, sqSide, dSq, true);
        run.reluMask(sq, dSq, sqSide * sqSide * s.squeeze.shape[0]);
        this.convBack(s.squeeze, dSq, s.squeeze.shape[0], inSide, spare, false);
      } else {
        f32.fill(0, spare / 4, spare / 4 + inSide * inSide * inCh);
        let col0 = 0;
        s.branches.forEach((b, bi) => {
          const lastConv = b[b.length - 1] as { op: 'conv'; conv: PlanConv };
          const cb = lastConv.conv.shape[0];
          // This branch's share of the concatenated gradient, through its last ReLU, made dense.
          let cur = tape.scratch[0];
          reluBackSlice(f32, scale.out[i] / 4 + col0, g / 4 + col0, ch, pixels, cb, cur / 4);
          col0 += cb;
          // Sides of the branch's inputs: the step's input, then each step's output.
          const sidesIn = [inSide];
          const chIn = [inCh];
          b.forEach((t) => {
            const j = sidesIn.length - 1;
            sidesIn.push(t.op === 'conv' ? convOut(sidesIn[j], t.conv) : poolOut(sidesIn[j], t.ceil, t.stride));
            chIn.push(t.op === 'conv' ? t.conv.shape[0] : chIn[j]);
          });
          for (let j = b.length - 1; j >= 0; j--) {
            const t = b[j];
            const first = j === 0;
            const to = first ? spare : tape.scratch[cur === tape.scratch[1] ? 2 : 1];
            if (t.op === 'conv') this.convBack(t.conv, cur, t.conv.shape[0], sidesIn[j], to, first);
            else {
              if (!first) f32.fill(0, to / 4, to / 4 + sidesIn[j] ** 2 * chIn[j]);
              const input = first ? x : scale.inner[i][bi][j - 1];
              this.poolBack(input, sidesIn[j], chIn[j], t.stride ?? 2, sidesIn[j + 1], cur, to);
            }
            // The step before is a convolution: its ReLU.
            if (!first && b[j - 1].op === 'conv') reluBackInPlace(f32, scale.inner[i][bi][j - 1] / 4, to / 4, sidesIn[j] ** 2 * chIn[j]);
            cur = to;
          }
        });
      }
      [g, spare] = [spare, g];
    }
    return f32.slice(g / 4, g / 4 + side * side * 3);
  }

  /** dx += the max pool's gradient (byte offsets): the kernel on whole groups of 4 channels, else the loop. */
  private poolBack(x: number, h: number, c: number, stride: 1 | 2, o: number, g: number, dx: number): void {
    const run = this.runner!;
    if (c % 4 === 0) run.maxPoolBack(x, h, c, stride, o, g, dx);
    else maxPoolBackAdd(run.f32, x / 4, h, c, stride, o, g / 4, dx / 4);
  }

  /**
   * The gradient of a convolution's input (inSide px) from `g`, the gradient of its output before the ReLU
   * (rows `ldg` floats wide): dY W^T on the products, then scattered back to pixels; into `dst`, or added to it.
   */
  private convBack(c: PlanConv, g: number, ldg: number, inSide: number, dst: number, add: boolean): void {
    const run = this.runner!;
    const [cout, cin, k] = c.shape;
    const o = convOut(inSide, c);
    const cols = patchColumns(c);
    const wt = this.at.get(c)!.wt;
    if (isPointwise(c) && cols === cin && !add) {
      run.nnRows(g, ldg, wt, dst, cin, o * o, cin, cout);
      return;
    }
    const dcol = this.tape!.dcol;
    run.nnRows(g, ldg, wt, dcol, cols, o * o, cols, cout);
    const f32 = run.f32;
    if (!add) f32.fill(0, dst / 4, dst / 4 + inSide * inSide * cin);
    if (cin % 4 === 0) run.col2imAdd(dcol, cols, dst, inSide, cin, k, c.stride, c.pad, o);
    else col2imAdd(f32, dcol / 4, cols, dst / 4, { h: inSide, c: cin, k, stride: c.stride, pad: c.pad, o });
  }

  /** One inception branch on (h x h x ch) at `src`, its last convolution writing channels [col0, ...) of `dst`. */
  private branch(steps: BranchStep[], src: number, h: number, ch: number, dst: number, ldc: number, col0: number, inner: (j: number) => number): { side: number; channels: number } {
    let at = src;
    steps.forEach((t, j) => {
      const lastStep = j === steps.length - 1;
      const to = lastStep ? dst : inner(j);
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

