import * as tf from '@tensorflow/tfjs';
import { inversePermutation, numpyPermutation, seededRandom } from '../random';
import type { StateDict, TensorData } from '../torch/types';
import { blockKey, couplingSplit, SOFT_CLAMP_FACTOR, SUBNET_LAYERS, type FlowConfig, type SubnetLayer } from './config';
import { linear } from './linear';
import { gatherDistinct } from '../gatherGrad';
import { ownedVariable } from '../variables';
import { checkWhitening, powerTensor, whiteningLogDet, type FeaturePower, type Whitening } from './whitening';

/** State-dict keys of the whitening layer (absent in flows without one, as in every official checkpoint). */
export const WHITEN_MEAN_KEY = 'whiten.mean';
export const WHITEN_MATRIX_KEY = 'whiten.matrix';
/** [exponent, offset] of the power taken before the whitening; absent in flows without one. */
export const WHITEN_POWER_KEY = 'whiten.power';

/** A whitening layer's tensors on the TF.js backend. */
interface WhiteningTensors {
  mean: tf.Tensor1D;
  /** W transposed, so that rows are whitened by matMul(p(x) - mean, W^T). */
  matrixT: tf.Tensor2D;
  logDet: number;
  power: FeaturePower | null;
}

export interface FlowInit {
  /** A fixed whitening in front of the coupling blocks (whitening.ts says why). */
  whitening?: Whitening | null;
  /**
   * Zero the last layer of every subnet so each block starts as the identity (Glow's zero init), and the
   * untrained flow scores exactly as the Gaussian its whitening describes. Only meaningful with a whitening.
   */
  identityInit?: boolean;
}

const LAYERS = SUBNET_LAYERS;
type LayerName = SubnetLayer;

/** Weights stored as [in, out] (PyTorch keeps [out, in]) so a layer is matMul(x, W) + b. */
interface Linear {
  w: tf.Variable<tf.Rank.R2>;
  b: tf.Variable<tf.Rank.R1>;
}
type Subnet = Record<LayerName, Linear>;

interface Block {
  perm: Int32Array;
  permInv: Int32Array;
  s1: Subnet;
  s2: Subnet;
}

export interface FlowOutput {
  z: tf.Tensor2D;
  /** log|det J| per row. */
  logDet: tf.Tensor1D;
}

/** The whitening layer of a state dict, checked, or null when it has none; half of one is an error. */
function readWhitening(sd: StateDict, dim: number): Whitening | null {
  const mean = sd.get(WHITEN_MEAN_KEY);
  const matrix = sd.get(WHITEN_MATRIX_KEY);
  if (!mean && !matrix) return null;
  if (!mean || !matrix) throw new Error(`the flow's whitening is incomplete: ${mean ? WHITEN_MATRIX_KEY : WHITEN_MEAN_KEY} is missing`);
  if (mean.shape.join('x') !== `${dim}` || matrix.shape.join('x') !== `${dim}x${dim}`) {
    throw new Error(`the flow's whitening has shapes [${mean.shape}] / [${matrix.shape}], expected [${dim}] / [${dim}, ${dim}]`);
  }
  const power = sd.get(WHITEN_POWER_KEY);
  if (power && (power.shape.join('x') !== '2' || power.data.length !== 2)) throw new Error(`the flow's feature power has shape [${power.shape}], expected [2] (exponent, offset)`);
  const w: Whitening = { mean: Float32Array.from(mean.data), matrix: Float32Array.from(matrix.data), ...(power ? { power: { exponent: power.data[0], offset: power.data[1] } } : {}) };
  checkWhitening(w, dim);
  return w;
}

function writeWhitening(sd: StateDict, w: Whitening, dim: number): void {
  sd.set(WHITEN_MEAN_KEY, { shape: [dim], data: w.mean });
  sd.set(WHITEN_MATRIX_KEY, { shape: [dim, dim], data: w.matrix });
  if (w.power) sd.set(WHITEN_POWER_KEY, { shape: [2], data: Float32Array.of(w.power.exponent, w.power.offset) });
}

/** The official code's F_fully_connected: fc1-ReLU-fc2-ReLU-fc2b-ReLU-fc3. */
function subnet(s: Subnet, x: tf.Tensor2D): tf.Tensor2D {
  let h = tf.relu(linear(x, s.fc1.w, s.fc1.b));
  h = tf.relu(linear(h, s.fc2.w, s.fc2.b));
  h = tf.relu(linear(h, s.fc2b.w, s.fc2b.b));
  return linear(h, s.fc3.w, s.fc3.b);
}

/**
 * DifferNet's normalizing flow: N x (fixed permutation, glow coupling block), exactly as the official
 * code's freia_funcs (permute_layer seeded with k, glow_coupling_layer with soft clamp 0.636*atan).
 */
export class Flow {
  private readonly whiten: WhiteningTensors | null;

  private constructor(
    readonly config: FlowConfig,
    private readonly blocks: Block[],
    /** The fixed layer in front of the blocks, or null (the paper's flow). */
    readonly whitening: Whitening | null = null,
  ) {
    this.whiten = whitening
      ? {
          mean: tf.keep(tf.tensor1d(whitening.mean)),
          matrixT: tf.keep(tf.tidy(() => tf.tensor2d(whitening.matrix, [config.inputDim, config.inputDim]).transpose() as tf.Tensor2D)),
          logDet: whiteningLogDet(whitening),
          power: whitening.power ?? null,
        }
      : null;
  }

  /** Fresh weights with PyTorch's nn.Linear default init (uniform +-1/sqrt(fan_in)), reproducible from a seed. */
  static random(config: FlowConfig, seed = 0, init: FlowInit = {}): Flow {
    const rand = seededRandom(seed + 1_000_003);
    const initLinear = (inDim: number, outDim: number): TensorData[] => {
      const bound = 1 / Math.sqrt(inDim);
      const w = new Float32Array(inDim * outDim);
      for (let i = 0; i < w.length; i++) w[i] = (rand() * 2 - 1) * bound;
      const b = new Float32Array(outDim);
      for (let i = 0; i < b.length; i++) b[i] = (rand() * 2 - 1) * bound;
      return [
        { shape: [outDim, inDim], data: w },
        { shape: [outDim], data: b },
      ];
    };
    const { l1, l2 } = couplingSplit(config.inputDim);
    const h = config.hidden;
    const sd: StateDict = new Map();
    for (let k = 0; k < config.blocks; k++) {
      for (const [name, inDim, outDim] of [
        ['s1', l1, 2 * l2],
        ['s2', l2, 2 * l1],
      ] as const) {
        const dims: [LayerName, number, number][] = [
          ['fc1', inDim, h],
          ['fc2', h, h],
          ['fc2b', h, h],
          ['fc3', h, outDim],
        ];
        for (const [layer, i, o] of dims) {
          const [w, b] = initLinear(i, o);
          if (init.identityInit && layer === 'fc3') {
            w.data.fill(0);
            b.data.fill(0);
          }
          sd.set(`${blockKey(k)}.${name}.${layer}.weight`, w);
          sd.set(`${blockKey(k)}.${name}.${layer}.bias`, b);
        }
      }
    }
    if (init.whitening) writeWhitening(sd, init.whitening, config.inputDim);
    return Flow.fromStateDict(sd, config.clamp);
  }

  /**
   * Import `nf.module_list.N.s1|s2.fc*` (as the official code saves it; an `nf.` prefix is optional),
   * inferring input width, hidden width and block count from the shapes.
   */
  static fromStateDict(sd: StateDict, clamp = 3): Flow {
    const re = /^(?:.*\.)?module_list\.(\d+)\.(s1|s2)\.(fc1|fc2|fc2b|fc3)\.(weight|bias)$/;
    const byModule = new Map<number, Map<string, TensorData>>();
    for (const [key, t] of sd) {
      const m = re.exec(key);
      if (!m) continue;
      const idx = Number(m[1]);
      if (!byModule.has(idx)) byModule.set(idx, new Map());
      byModule.get(idx)!.set(`${m[2]}.${m[3]}.${m[4]}`, t);
    }
    if (byModule.size === 0) {
      throw new Error('no flow found: expected keys nf.module_list.N.s1|s2.fc1|fc2|fc2b|fc3.weight|bias (official DifferNet checkpoint)');
    }
    const modules = [...byModule.keys()].sort((a, b) => a - b);
    const first = byModule.get(modules[0])!;
    const need = (m: Map<string, TensorData>, k: string, idx: number) => {
      const t = m.get(k);
      if (!t) throw new Error(`flow block module_list.${idx} is missing ${k}`);
      return t;
    };
    const s1fc1 = need(first, 's1.fc1.weight', modules[0]);
    const s2fc1 = need(first, 's2.fc1.weight', modules[0]);
    const hidden = s1fc1.shape[0];
    const inputDim = s1fc1.shape[1] + s2fc1.shape[1];
    const config: FlowConfig = { inputDim, blocks: modules.length, hidden, clamp };
    const { l1, l2 } = couplingSplit(inputDim);
    // Check every tensor before creating any variable, so a bad file leaves nothing allocated.
    const dims = (inDim: number, outDim: number): Record<LayerName, [number, number]> => ({ fc1: [inDim, hidden], fc2: [hidden, hidden], fc2b: [hidden, hidden], fc3: [hidden, outDim] });
    const nets = [
      ['s1', l1, 2 * l2],
      ['s2', l2, 2 * l1],
    ] as const;
    for (const idx of modules) {
      const m = byModule.get(idx)!;
      for (const [net, inDim, outDim] of nets) {
        const d = dims(inDim, outDim);
        for (const layer of LAYERS) {
          const [i, o] = d[layer];
          const w = need(m, `${net}.${layer}.weight`, idx);
          const b = need(m, `${net}.${layer}.bias`, idx);
          if (w.shape.join('x') !== `${o}x${i}` || b.shape.join('x') !== `${o}` || w.data.length !== o * i || b.data.length !== o) {
            throw new Error(`flow block module_list.${idx}.${net}.${layer}: shape [${w.shape}] / [${b.shape}], expected [${o}, ${i}] / [${o}]`);
          }
        }
      }
    }
    const whitening = readWhitening(sd, inputDim);
    const blocks = modules.map((idx, k): Block => {
      const m = byModule.get(idx)!;
      const load = (net: 's1' | 's2', inDim: number, outDim: number): Subnet => {
        const d = dims(inDim, outDim);
        const out = {} as Subnet;
        for (const layer of LAYERS) {
          const [i, o] = d[layer];
          const w = m.get(`${net}.${layer}.weight`)!;
          const b = m.get(`${net}.${layer}.bias`)!;
          out[layer] = {
            w: ownedVariable(tf.tidy(() => tf.tensor2d(w.data, [o, i]).transpose() as tf.Tensor2D)),
            b: ownedVariable(tf.tensor1d(b.data)),
          };
        }
        return out;
      };
      const perm = numpyPermutation(inputDim, k);
      return {
        perm,
        permInv: inversePermutation(perm),
        s1: load('s1', l1, 2 * l2),
        s2: load('s2', l2, 2 * l1),
      };
    });
    return new Flow(config, blocks, whitening);
  }

  private logE(s: tf.Tensor2D): tf.Tensor2D {
    const c = this.config.clamp;
    return tf.mul(c * SOFT_CLAMP_FACTOR, tf.atan(tf.div(s, c)));
  }

  forward(x: tf.Tensor2D): FlowOutput {
    return tf.tidy(() => {
      const { l1, l2 } = couplingSplit(this.config.inputDim);
      const w = this.whiten;
      let h: tf.Tensor2D = w ? tf.matMul(tf.sub(w.power ? powerTensor(w.power, x) : x, w.mean) as tf.Tensor2D, w.matrixT) : x;
      let logDet: tf.Tensor1D = w ? tf.fill([x.shape[0]], w.logDet) : tf.zeros([x.shape[0]]);
      for (const b of this.blocks) {
        h = gatherDistinct(h, b.perm, 1);
        const [x1, x2] = tf.split(h, [l1, l2], 1) as [tf.Tensor2D, tf.Tensor2D];
        const [s2, t2] = tf.split(subnet(b.s2, x2), [l1, l1], 1) as [tf.Tensor2D, tf.Tensor2D];
        const ls2 = this.logE(s2);
        const y1 = tf.add(tf.mul(tf.exp(ls2), x1), t2) as tf.Tensor2D;
        const [s1, t1] = tf.split(subnet(b.s1, y1), [l2, l2], 1) as [tf.Tensor2D, tf.Tensor2D];
        const ls1 = this.logE(s1);
        const y2 = tf.add(tf.mul(tf.exp(ls1), x2), t1) as tf.Tensor2D;
        h = tf.clipByValue(tf.concat([y1, y2], 1), -1e6, 1e6);
        logDet = tf.add(logDet, tf.add(tf.sum(ls1, 1), tf.sum(ls2, 1)));
      }
      return { z: h, logDet };
    });
  }

  /** The blocks' inverse; for a whitened flow, the whitened rows (the layer's own inverse is never needed). */
  inverse(z: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const { l1, l2 } = couplingSplit(this.config.inputDim);
      let h = z;
      for (let k = this.blocks.length - 1; k >= 0; k--) {
        const b = this.blocks[k];
        const [y1, y2] = tf.split(h, [l1, l2], 1) as [tf.Tensor2D, tf.Tensor2D];
        const [s1, t1] = tf.split(subnet(b.s1, y1), [l2, l2], 1) as [tf.Tensor2D, tf.Tensor2D];
        const x2 = tf.div(tf.sub(y2, t1), tf.exp(this.logE(s1))) as tf.Tensor2D;
        const [s2, t2] = tf.split(subnet(b.s2, x2), [l1, l1], 1) as [tf.Tensor2D, tf.Tensor2D];
        const x1 = tf.div(tf.sub(y1, t2), tf.exp(this.logE(s2))) as tf.Tensor2D;
        h = gatherDistinct(tf.clipByValue(tf.concat([x1, x2], 1), -1e6, 1e6) as tf.Tensor2D, b.permInv, 1);
      }
      return h;
    });
  }

  /** Per-row negative log-likelihood divided by D, whose batch mean is the official training loss. */
  nll(x: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const { z, logDet } = this.forward(x);
      return tf.div(tf.sub(tf.mul(0.5, tf.sum(tf.square(z), 1)), logDet), this.config.inputDim) as tf.Tensor1D;
    });
  }

  /** mean(0.5 * sum(z^2) - logdet) / D, the loss of the official code. */
  loss(x: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => tf.mean(this.nll(x)));
  }

  trainableVariables(): tf.Variable[] {
    return this.blocks.flatMap((b) => [b.s1, b.s2].flatMap((s) => LAYERS.flatMap((l) => [s[l].w, s[l].b])));
  }

  /** Weights under the official code's names and PyTorch layout, so checkpoints can go both ways. */
  async toStateDict(): Promise<StateDict> {
    const sd: StateDict = new Map();
    for (let k = 0; k < this.blocks.length; k++) {
      for (const net of ['s1', 's2'] as const) {
        const s = this.blocks[k][net];
        for (const layer of LAYERS) {
          const wT = tf.tidy(() => s[layer].w.transpose());
          const w = (await wT.data()) as Float32Array;
          wT.dispose();
          sd.set(`${blockKey(k)}.${net}.${layer}.weight`, { shape: [s[layer].w.shape[1], s[layer].w.shape[0]], data: w });
          sd.set(`${blockKey(k)}.${net}.${layer}.bias`, { shape: [s[layer].b.shape[0]], data: (await s[layer].b.data()) as Float32Array });
        }
      }
    }
    if (this.whitening) writeWhitening(sd, this.whitening, this.config.inputDim);
    return sd;
  }

  /** Puts the weights of a state dict of this flow's shape (as toStateDict gives) into its variables. */
  assignStateDict(sd: StateDict): void {
    this.blocks.forEach((b, k) => {
      for (const net of ['s1', 's2'] as const) {
        for (const layer of LAYERS) {
          const { w, b: bias } = b[net][layer];
          const key = `${blockKey(k)}.${net}.${layer}`;
          const wt = sd.get(`${key}.weight`);
          const bt = sd.get(`${key}.bias`);
          if (!wt || !bt || wt.data.length !== w.size || bt.data.length !== bias.size) throw new Error(`state dict does not fit this flow at ${key}`);
          tf.tidy(() => {
            w.assign(tf.tensor2d(wt.data, [w.shape[1], w.shape[0]]).transpose());
            bias.assign(tf.tensor1d(bt.data));
          });
        }
      }
    });
  }

  dispose(): void {
    for (const b of this.blocks) {
      for (const v of this.trainableVariablesOf(b)) v.dispose();
    }
    this.whiten?.mean.dispose();
    this.whiten?.matrixT.dispose();
  }

  private trainableVariablesOf(b: Block): tf.Variable[] {
    return [b.s1, b.s2].flatMap((s) => LAYERS.flatMap((l) => [s[l].w, s[l].b]));
  }
}

