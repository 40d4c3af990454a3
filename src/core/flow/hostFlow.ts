// The flow's training step on plain memory: forward, backward and Adam written out, with the products on
// the WebAssembly GEMM kernels. Same maths as flow.ts (which stays the engine for scoring and defect maps,
// where gradients must reach the CNN) and as the official code; the parity tests hold the two together.
import type { StateDict } from '../torch/types';
import { numpyPermutation } from '../random';
import { adamStep, type AdamConfig } from '../train/adamConfig';
import { GemmRunner, type ThreadSpawner } from '../wasm/threads';
import { AFFINE_MAX_CLAMP } from '../wasm/couplingKernels';
import { simdSupported, type KernelFlavour } from '../wasm/gemmKernels';
import type { FlowConfig } from './config';
import { blockKey, couplingSplit, flowParamCount, SOFT_CLAMP_FACTOR, SUBNETS } from './config';

const NETS = SUBNETS;
const CLIP = 1e6;
/**
 * Above this many parameters training keeps the TF.js path: four copies (weights, gradients, two moments)
 * of the paper-width flow's 210M parameters do not fit a 4 GB WebAssembly memory.
 */
export const HOST_FLOW_MAX_PARAMS = 48_000_000;

/** Whether the host path can train this flow: SIMD, widths the kernels tile, a clamp its exp covers, and a memory that fits. */
export function hostFlowSupported(c: FlowConfig): boolean {
  const { l1, l2 } = couplingSplit(c.inputDim);
  return l1 % 4 === 0 && l2 % 4 === 0 && c.hidden % 8 === 0 && c.clamp < AFFINE_MAX_CLAMP && flowParamCount(c) <= HOST_FLOW_MAX_PARAMS && simdSupported();
}

/** Float offsets of one linear layer: weights [in, out] row-major, then bias. */
interface Lin {
  w: number;
  b: number;
  inDim: number;
  outDim: number;
  /** PyTorch name prefix, e.g. nf.module_list.2.s1.fc1 */
  key: string;
}

interface NetActs {
  h: [number, number, number];
  o: number;
}

interface BlockLayout {
  perm: Int32Array;
  /** Float offset of the permutation's copy in the memory, as int32s (the glue kernels read it). */
  permAt: number;
  nets: Record<'s1' | 's2', Lin[]>;
  x1: number;
  x2: number;
  a2: NetActs;
  a1: NetActs;
  ls2: number;
  e2: number;
  y1: number;
  ls1: number;
  e1: number;
  y2: number;
  /** Block output after the clip, rows x D. */
  out: number;
}

/** A float allocator over the memory; every region starts on a 16-byte boundary. */
class Arena {
  size = 0;
  take(n: number): number {
    const at = this.size;
    this.size += Math.ceil(n / 4) * 4;
    return at;
  }
}

export class HostFlow {
  private readonly f: Float32Array;
  private readonly logDet: Float64Array;

  private constructor(
    readonly config: FlowConfig,
    readonly maxRows: number,
    private readonly run: GemmRunner,
    private readonly blocks: BlockLayout[],
    private readonly params: { at: number; count: number },
    private readonly grads: number,
    private readonly moments: [number, number],
    private readonly input: number,
    /** maxRows floats equal to 1, the left operand of the bias gradients' column sums. */
    private readonly ones: number,
    /** Float offset of rows float64s: each row's log|det J|. */
    private readonly logDetAt: number,
    private readonly scratch: { dh: number; dhIn: number; dy1: number; dy2: number; dx1: number; dx2: number; dO: number; dA: number; dB: number; dIn: number },
  ) {
    this.f = run.f32;
    this.logDet = new Float64Array(run.f32.buffer, logDetAt * 4, maxRows);
  }

  get threads(): number {
    return this.run.threads;
  }

  /**
   * `flavour` for tests: the kernels this engine runs best when absent. `inference`: no memory for the
   * weights' gradients and Adam's moments (inputGradient only; step and gradient then throw).
   */
  static async create(config: FlowConfig, maxRows: number, threads: { helpers: number; spawn?: ThreadSpawner } = { helpers: 0 }, flavour?: KernelFlavour, inference = false): Promise<HostFlow> {
    const { inputDim: D, hidden: H } = config;
    const { l1, l2 } = couplingSplit(D);
    const R = maxRows;
    const arena = new Arena();
    const nParams = flowParamCount(config);
    const params = arena.take(nParams);
    let cursor = params;
    const lin = (key: string, inDim: number, outDim: number): Lin => {
      const w = cursor;
      cursor += inDim * outDim;
      const b = cursor;
      cursor += outDim;
      return { w, b, inDim, outDim, key };
    };
    const net = (prefix: string, inDim: number, outDim: number): Lin[] => [lin(`${prefix}.fc1`, inDim, H), lin(`${prefix}.fc2`, H, H), lin(`${prefix}.fc2b`, H, H), lin(`${prefix}.fc3`, H, outDim)];
    const acts = (outDim: number): NetActs => ({ h: [arena.take(R * H), arena.take(R * H), arena.take(R * H)], o: arena.take(R * outDim) });
    const layouts: BlockLayout[] = [];
    for (let k = 0; k < config.blocks; k++) {
      const key = blockKey(k);
      // Same order as flow.ts's state dict: s1 then s2, each fc1, fc2, fc2b, fc3.
      const s1 = net(`${key}.s1`, l1, 2 * l2);
      const s2 = net(`${key}.s2`, l2, 2 * l1);
      layouts.push({
        perm: numpyPermutation(D, k),
        permAt: arena.take(D),
        nets: { s1, s2 },
        x1: arena.take(R * l1),
        x2: arena.take(R * l2),
        a2: acts(2 * l1),
        a1: acts(2 * l2),
        ls2: arena.take(R * l1),
        e2: arena.take(R * l1),
        y1: arena.take(R * l1),
        ls1: arena.take(R * l2),
        e1: arena.take(R * l2),
        y2: arena.take(R * l2),
        out: arena.take(R * D),
      });
    }
    if (cursor - params !== nParams) throw new Error('flow layout does not match its parameter count');
    // -1: none (inference); training() then refuses.
    const grads = inference ? -1 : arena.take(nParams);
    const m = inference ? -1 : arena.take(nParams);
    const v = inference ? -1 : arena.take(nParams);
    const input = arena.take(R * D);
    const ones = arena.take(R);
    const logDet = arena.take(2 * R); // float64s
    const L = Math.max(l1, l2);
    const scratch = {
      dh: arena.take(R * D),
      dhIn: arena.take(R * D),
      dy1: arena.take(R * l1),
      dy2: arena.take(R * l2),
      dx1: arena.take(R * l1),
      dx2: arena.take(R * l2),
      dO: arena.take(R * 2 * L),
      dA: arena.take(R * H),
      dB: arena.take(R * H),
      dIn: arena.take(R * L),
    };
    const run = await GemmRunner.create(arena.size * 4, threads.helpers, threads.spawn, flavour);
    run.f32.fill(1, ones, ones + R);
    const ints = new Int32Array(run.f32.buffer);
    for (const b of layouts) ints.set(b.perm, b.permAt);
    return new HostFlow(config, maxRows, run, layouts, { at: params, count: nParams }, grads, [m, v], input, ones, logDet, scratch);
  }

  /** Loads weights from a state dict in the official names and PyTorch's [out, in] layout; zeroes the moments. */
  load(sd: StateDict): void {
    for (const b of this.blocks) {
      for (const n of NETS) {
        for (const l of b.nets[n]) {
          const w = sd.get(`${l.key}.weight`);
          const bias = sd.get(`${l.key}.bias`);
          if (!w || !bias || w.data.length !== l.inDim * l.outDim || bias.data.length !== l.outDim) throw new Error(`flow state dict lacks ${l.key} of ${l.outDim}x${l.inDim}`);
          for (let o = 0; o < l.outDim; o++) for (let i = 0; i < l.inDim; i++) this.f[l.w + i * l.outDim + o] = w.data[o * l.inDim + i];
          this.f.set(bias.data, l.b);
        }
      }
    }
    const [m, v] = this.moments;
    if (m < 0) return;
    this.f.fill(0, m, m + this.params.count);
    this.f.fill(0, v, v + this.params.count);
  }

  private training(): void {
    if (this.grads < 0) throw new Error('this flow was laid out for input gradients only (no memory for training)');
  }

  toStateDict(): StateDict {
    const sd: StateDict = new Map();
    for (const b of this.blocks) {
      for (const n of NETS) {
        for (const l of b.nets[n]) {
          const w = new Float32Array(l.inDim * l.outDim);
          for (let o = 0; o < l.outDim; o++) for (let i = 0; i < l.inDim; i++) w[o * l.inDim + i] = this.f[l.w + i * l.outDim + o];
          sd.set(`${l.key}.weight`, { shape: [l.outDim, l.inDim], data: w });
          sd.set(`${l.key}.bias`, { shape: [l.outDim], data: this.f.slice(l.b, l.b + l.outDim) });
        }
      }
    }
    return sd;
  }

  /** Where the next step's input rows go: rows x D floats. */
  inputRows(rows: number): Float32Array {
    if (rows > this.maxRows) throw new Error(`a step of ${rows} rows exceeds the ${this.maxRows} this flow was laid out for`);
    return this.f.subarray(this.input, this.input + rows * this.config.inputDim);
  }

  /** The loss of the rows in inputRows(rows): mean over rows of (0.5 |z|^2 - log|det J|) / D. */
  loss(rows: number): number {
    this.forward(rows);
    return this.lossValue(rows);
  }

  /** One training step on the rows in inputRows(rows): loss, gradients, then Adam's update `t` (from 1). */
  step(rows: number, adam: AdamConfig, t: number): number {
    this.training();
    this.forward(rows);
    const loss = this.lossValue(rows);
    this.backward(rows);
    const [m, v] = this.moments;
    this.run.adam(this.params.at * 4, this.grads * 4, m * 4, v * 4, this.params.count, adamStep(adam, t));
    return loss;
  }

  /** The gradient of the last step's loss, for tests: a copy, in state dict names and layout. */
  gradientStateDict(): StateDict {
    this.training();
    const sd: StateDict = new Map();
    const g = this.grads - this.params.at;
    for (const b of this.blocks) {
      for (const n of NETS) {
        for (const l of b.nets[n]) {
          const w = new Float32Array(l.inDim * l.outDim);
          for (let o = 0; o < l.outDim; o++) for (let i = 0; i < l.inDim; i++) w[o * l.inDim + i] = this.f[g + l.w + i * l.outDim + o];
          sd.set(`${l.key}.weight`, { shape: [l.outDim, l.inDim], data: w });
          sd.set(`${l.key}.bias`, { shape: [l.outDim], data: this.f.slice(g + l.b, g + l.b + l.outDim) });
        }
      }
    }
    return sd;
  }

  /** Gradient only (no update), for tests. */
  gradient(rows: number): number {
    this.training();
    this.forward(rows);
    const loss = this.lossValue(rows);
    this.backward(rows);
    return loss;
  }

  /**
   * For the rows in inputRows(rows): each row's mean z^2, and (in the returned view, rows x D, valid until the
   * next call) the gradient with respect to the rows of the loss summed over rows, each row's
   * (0.5 |z|^2 - log|det J|) / D (defect maps differentiate each copy's own loss). The weights' gradients are
   * not formed.
   */
  inputGradient(rows: number): { zsq: Float64Array; grad: Float32Array } {
    const D = this.config.inputDim;
    this.forward(rows);
    const z = this.blocks[this.blocks.length - 1].out;
    const zsq = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let sq = 0;
      for (let i = z + r * D, e = i + D; i < e; i++) sq += this.f[i] * this.f[i];
      zsq[r] = sq / D;
    }
    this.backward(rows, { weights: false, input: true, scale: 1 / D });
    return { zsq, grad: this.f.subarray(this.scratch.dh, this.scratch.dh + rows * D) };
  }

  dispose(): void {
    this.run.dispose();
  }

  private lossValue(rows: number): number {
    const D = this.config.inputDim;
    const z = this.blocks[this.blocks.length - 1].out;
    const f = this.f;
    let total = 0;
    for (let r = 0; r < rows; r++) {
      let sq = 0;
      for (let i = r * D, e = i + D; i < e; i++) sq += f[z + i] * f[z + i];
      total += (0.5 * sq - this.logDet[r]) / D;
    }
    return total / rows;
  }

  private subnetForward(lins: Lin[], x: number, acts: NetActs, rows: number): void {
    let input = x;
    for (let li = 0; li < 4; li++) {
      const l = lins[li];
      const out = li < 3 ? acts.h[li] : acts.o;
      this.run.nn(input * 4, l.inDim, 1, l.w * 4, l.outDim, out * 4, l.outDim, rows, l.outDim, l.inDim, l.b * 4, li < 3);
      input = out;
    }
  }

  /** Gradients of one subnet's weights from dO (rows x out) at scratch.dO; dIn = dL/dx when wanted. */
  private subnetBackward(lins: Lin[], x: number, acts: NetActs, rows: number, wantInput: boolean, weights: boolean): void {
    const g = this.grads - this.params.at;
    const { dO, dA, dB, dIn } = this.scratch;
    let dy = dO;
    const bufs = [dA, dB];
    for (let li = 3; li >= 0; li--) {
      const l = lins[li];
      const input = li > 0 ? acts.h[li - 1] : x;
      const N = l.outDim;
      const K = l.inDim;
      if (weights) {
        // dW = input^T dy (input read transposed), db = column sums of dy.
        this.run.nn(input * 4, 1, K, dy * 4, N, (g + l.w) * 4, N, K, N, rows);
        // db = ones^T dy: the same float32 sums, row after row, as a loop over rows would make.
        this.run.nn(this.ones * 4, 0, 1, dy * 4, N, (g + l.b) * 4, N, 1, N, rows);
      }
      if (li === 0 && !wantInput) break;
      const dx = li > 0 ? bufs[li % 2] : dIn;
      this.run.nt(dy * 4, N, l.w * 4, N, dx * 4, K, rows, K, N);
      // ReLU: the gradient passes where the layer's output is positive.
      if (li > 0) this.run.reluMask(acts.h[li - 1] * 4, dx * 4, rows * K);
      dy = dx;
    }
  }

  /** y = exp(ls) x + t with ls = SOFT_CLAMP_FACTOR c atan(s / c), [s, t] the subnet's output o (rows x 2l); adds ls to log|det J|. */
  private affineForward(o: number, x: number, ls: number, e: number, y: number, l: number, rows: number): void {
    const c = this.config.clamp;
    this.run.affine(o * 4, x * 4, ls * 4, e * 4, y * 4, l, rows, c, c * SOFT_CLAMP_FACTOR);
    // Summed in float64, in order, as the loss wants them.
    this.run.glue.rowSums(ls * 4, l, rows, this.logDetAt * 4);
  }

  /** Through y = exp(ls) x + t: the subnet's output gradient into scratch.dO (rows x 2l) and dL/dx = dy exp(ls) into dx. */
  private affineBackward(dyAt: number, e: number, x: number, o: number, dx: number, l: number, rows: number, gLogDet: number): void {
    this.run.affineBack(dyAt * 4, e * 4, x * 4, o * 4, this.scratch.dO * 4, dx * 4, l, rows, this.config.clamp, gLogDet);
  }

  private forward(rows: number): void {
    const D = this.config.inputDim;
    const { l1, l2 } = couplingSplit(D);
    this.logDet.fill(0, 0, rows);
    let hin = this.input;
    const glue = this.run.glue;
    for (const b of this.blocks) {
      glue.gather(hin * 4, D, b.permAt * 4, l1, b.x1 * 4, l1, rows);
      glue.gather(hin * 4, D, (b.permAt + l1) * 4, l2, b.x2 * 4, l2, rows);
      this.subnetForward(b.nets.s2, b.x2, b.a2, rows);
      this.affineForward(b.a2.o, b.x1, b.ls2, b.e2, b.y1, l1, rows);
      this.subnetForward(b.nets.s1, b.y1, b.a1, rows);
      this.affineForward(b.a1.o, b.x2, b.ls1, b.e1, b.y2, l2, rows);
      glue.clipCopy(b.y1 * 4, l1, b.out * 4, D, l1, rows, CLIP);
      glue.clipCopy(b.y2 * 4, l2, (b.out + l1) * 4, D, l2, rows, CLIP);
      hin = b.out;
    }
  }

  /** Into the weights' gradients (training's mean loss), or (`input`) down to the input rows at scratch.dh. */
  private backward(rows: number, opts: { weights: boolean; input: boolean; scale: number } = { weights: true, input: false, scale: 1 / (rows * this.config.inputDim) }): void {
    const D = this.config.inputDim;
    const { l1, l2 } = couplingSplit(D);
    const s = this.scratch;
    const scale = opts.scale;
    const z = this.blocks[this.blocks.length - 1].out;
    const glue = this.run.glue;
    glue.scaleCopy(z * 4, s.dh * 4, rows * D, scale);
    // Every log-scale adds to log|det J|, whose weight in the loss is -1/(rows D).
    const gLogDet = -scale;
    for (let k = this.blocks.length - 1; k >= 0; k--) {
      const b = this.blocks[k];
      // Through the clip: the gradient passes where the value was inside [-1e6, 1e6].
      glue.maskCopy(b.y1 * 4, l1, s.dh * 4, D, s.dy1 * 4, l1, l1, rows, CLIP);
      glue.maskCopy(b.y2 * 4, l2, (s.dh + l1) * 4, D, s.dy2 * 4, l2, l2, rows, CLIP);
      // y2 = exp(ls1) x2 + t1, with [s1, t1] = s1net(y1).
      this.affineBackward(s.dy2, b.e1, b.x2, b.a1.o, s.dx2, l2, rows, gLogDet);
      this.subnetBackward(b.nets.s1, b.y1, b.a1, rows, true, opts.weights);
      glue.addTo(s.dy1 * 4, s.dIn * 4, rows * l1);
      // y1 = exp(ls2) x1 + t2, with [s2, t2] = s2net(x2).
      this.affineBackward(s.dy1, b.e2, b.x1, b.a2.o, s.dx1, l1, rows, gLogDet);
      const wantInput = k > 0 || opts.input;
      this.subnetBackward(b.nets.s2, b.x2, b.a2, rows, wantInput, opts.weights);
      if (!wantInput) break;
      glue.addTo(s.dx2 * 4, s.dIn * 4, rows * l2);
      // Undo the permutation: x[:, i] came from h[:, perm[i]].
      glue.scatter(s.dx1 * 4, l1, b.permAt * 4, l1, s.dh * 4, D, rows);
      glue.scatter(s.dx2 * 4, l2, (b.permAt + l1) * 4, l2, s.dh * 4, D, rows);
    }
  }
}
