import type { CaffeLayer, CaffeNet } from '../caffe';
import type { StateDict } from '../torch/types';
import type { BackbonePlan, BranchStep, PlanConv, PlanStep } from './plan';
import { tfBackbone } from './tfBackbone';
import type { Backbone } from './types';
import { backboneTensors, expectTensor, WeightsError } from './weights';

/*
 * BVLC GoogLeNet (Szegedy et al. 2014; the Caffe model zoo's bvlc_googlenet, released for unrestricted use)
 * up to inception_5b, as its deploy.prototxt defines it: every convolution followed by a ReLU, ceil-mode
 * 3x3/2 max pools, LRN (5, 1e-4, 0.75) after pool1 and conv2, inceptions of four branches concatenated
 * (1x1; 1x1 then 3x3; 1x1 then 5x5; 3x3/1 max pool then 1x1). Its mid-level taps detect texture defects best
 * here: inception_3b, 4a, 4c and 4e pooled at 224 px (BENCHMARKS.md).
 *
 * Input: Caffe's BGR, 0..255 minus the mean (B 104, G 117, R 123). The conversion from the engine's RGB in
 * [0, 1] is split so that it stays exact: the channel order is folded into conv1's weights when the
 * caffemodel is read (a permutation of its input channels: the state_dict is RGB-ordered), and the scale and
 * mean are the input convention, applied before conv1's zero padding (stem.ts), not folded into its bias.
 */

/** name, input channels, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection */
type InceptionSpec = [string, number, number, number, number, number, number, number];

const INCEPTIONS: InceptionSpec[] = [
  ['inception_3a', 192, 64, 96, 128, 16, 32, 32],
  ['inception_3b', 256, 128, 128, 192, 32, 96, 64],
  ['inception_4a', 480, 192, 96, 208, 16, 48, 64],
  ['inception_4b', 512, 160, 112, 224, 24, 64, 64],
  ['inception_4c', 512, 128, 128, 256, 24, 64, 64],
  ['inception_4d', 512, 112, 144, 288, 32, 64, 64],
  ['inception_4e', 528, 256, 160, 320, 32, 128, 128],
  ['inception_5a', 832, 256, 160, 320, 32, 128, 128],
  ['inception_5b', 832, 384, 192, 384, 48, 128, 128],
];
/** The max pool (3x3, stride 2, ceil) that follows these inceptions. */
const POOL_AFTER: Record<string, string> = { inception_3b: 'pool3/3x3_s2', inception_4e: 'pool4/3x3_s2' };

export const GOOGLENET_DEFAULT_TAPS = ['inception_3b', 'inception_4a', 'inception_4c', 'inception_4e'];

/** Caffe's LRN of both norm layers, as deploy.prototxt sets it (k is Caffe's default). */
const LRN = { size: 5, alpha: 1e-4, beta: 0.75, k: 1 };

/** Caffe's input convention for this network, as RGB in [0, 1]: (x - mean) / std = 255 x - mean255. */
const CAFFE_INPUT = { mean: [123 / 255, 117 / 255, 104 / 255] as [number, number, number], std: [1 / 255, 1 / 255, 1 / 255] as [number, number, number] };

interface ConvSpec {
  name: string;
  out: number;
  in: number;
  k: number;
  stride: number;
  pad: number;
}

/** Every convolution of the network in order, with its shape. */
function convSpecs(): ConvSpec[] {
  const c = (name: string, out: number, inC: number, k: number, stride = 1, pad = (k - 1) / 2): ConvSpec => ({ name, out, in: inC, k, stride, pad });
  const specs = [c('conv1/7x7_s2', 64, 3, 7, 2, 3), c('conv2/3x3_reduce', 64, 64, 1), c('conv2/3x3', 192, 64, 3)];
  for (const [n, inC, c1, r3, c3, r5, c5, pp] of INCEPTIONS) {
    specs.push(c(`${n}/1x1`, c1, inC, 1), c(`${n}/3x3_reduce`, r3, inC, 1), c(`${n}/3x3`, c3, r3, 3), c(`${n}/5x5_reduce`, r5, inC, 1), c(`${n}/5x5`, c5, r5, 5), c(`${n}/pool_proj`, pp, inC, 1));
  }
  return specs;
}

/** The plan from a state_dict under `features.<caffe layer>.weight|bias`, conv1 in RGB order. */
export function googlenetPlan(stateDict: StateDict): BackbonePlan {
  const sd = backboneTensors(stateDict);
  const convs = new Map(
    convSpecs().map((s): [string, PlanConv] => {
      const name = `features.${s.name}`;
      const shape: [number, number, number, number] = [s.out, s.in, s.k, s.k];
      const w = expectTensor(sd, `${name}.weight`, shape, 'GoogLeNet');
      const b = expectTensor(sd, `${name}.bias`, [s.out], 'GoogLeNet');
      return [s.name, { name, shape, weight: w.data, bias: b.data, stride: s.stride, pad: s.pad }];
    }),
  );
  const conv = (name: string) => convs.get(name)!;
  const pool = { op: 'pool', ceil: true } as const;
  const steps: PlanStep[] = [
    { op: 'conv', conv: conv('conv1/7x7_s2'), tap: 'conv1/7x7_s2' },
    { ...pool, tap: 'pool1/3x3_s2' },
    { op: 'lrn', ...LRN, tap: 'pool1/norm1' },
    { op: 'conv', conv: conv('conv2/3x3_reduce'), tap: 'conv2/3x3_reduce' },
    { op: 'conv', conv: conv('conv2/3x3'), tap: 'conv2/3x3' },
    { op: 'lrn', ...LRN, tap: 'conv2/norm2' },
    { ...pool, tap: 'pool2/3x3_s2' },
  ];
  for (const [n] of INCEPTIONS) {
    const one = (name: string): BranchStep => ({ op: 'conv', conv: conv(`${n}/${name}`) });
    steps.push({
      op: 'inception',
      branches: [[one('1x1')], [one('3x3_reduce'), one('3x3')], [one('5x5_reduce'), one('5x5')], [{ op: 'pool', ceil: true, stride: 1 }, one('pool_proj')]],
      tap: n,
    });
    if (POOL_AFTER[n]) steps.push({ ...pool, tap: POOL_AFTER[n] });
  }
  // 480 + 512 + 512 + 832 channels.
  return { id: 'googlenet', featureWidth: 2336, input: CAFFE_INPUT, steps, defaultTaps: GOOGLENET_DEFAULT_TAPS };
}

export function googlenet(stateDict: StateDict): Backbone {
  return tfBackbone(googlenetPlan(stateDict));
}

const CONV_NAMES = new Set(convSpecs().map((s) => s.name));

/** Which layers' blobs to decode from a caffemodel: the convolutions above, never a classifier. */
export function isGooglenetWeightLayer(layer: { name: string }): boolean {
  return CONV_NAMES.has(layer.name);
}

const sameParam = (a: [number, number], b: number) => a[0] === b && a[1] === b;

/**
 * The backbone's tensors from a read caffemodel: each convolution found by name, its type and parameters
 * checked against the network above, conv1's input channels reordered from BGR to RGB. Data and loss layers,
 * auxiliary classifiers, Split layers and the classifier are ignored. A file of another network ends in one
 * sentence naming what does not match.
 */
export function googlenetStateDict(net: CaffeNet): StateDict {
  const byName = new Map<string, CaffeLayer>();
  for (const l of net.layers) if (!byName.has(l.name)) byName.set(l.name, l);
  const notIt = (why: string) => new WeightsError(`this caffemodel is not BVLC GoogLeNet (network "${net.name || 'unnamed'}"): ${why}`);
  const sd: StateDict = new Map();
  for (const s of convSpecs()) {
    const l = byName.get(s.name);
    if (!l) throw notIt(`it has no layer ${s.name}`);
    const p = l.convolution;
    if (l.type !== 'Convolution' || !p) throw notIt(`${s.name} is a ${l.type} layer, not a convolution`);
    if (p.numOutput !== s.out || !sameParam(p.kernel, s.k) || !sameParam(p.stride, s.stride) || !sameParam(p.pad, s.pad) || p.group !== 1 || p.dilation !== 1 || !p.biasTerm) {
      throw notIt(`${s.name} is a ${p.kernel.join('x')} convolution to ${p.numOutput} channels (stride ${p.stride.join('x')}, pad ${p.pad.join('x')}), expected ${s.k}x${s.k} to ${s.out} (stride ${s.stride}, pad ${s.pad})`);
    }
    if (l.blobs.length !== 2) throw notIt(`${s.name} holds ${l.blobs.length} weight blobs, expected 2 (weights and biases)`);
    const [w, b] = l.blobs;
    const count = s.out * s.in * s.k * s.k;
    if (w.data.length !== count) throw notIt(`${s.name}'s weights hold ${w.data.length} numbers, expected ${s.out}x${s.in}x${s.k}x${s.k} = ${count}`);
    if (b.data.length !== s.out) throw notIt(`${s.name}'s biases hold ${b.data.length} numbers, expected ${s.out}`);
    const weight = s.name === 'conv1/7x7_s2' ? bgrToRgb(w.data, s.out, s.k * s.k) : w.data;
    sd.set(`features.${s.name}.weight`, { shape: [s.out, s.in, s.k, s.k], data: weight });
    sd.set(`features.${s.name}.bias`, { shape: [s.out], data: b.data });
  }
  for (const [name, type] of [['pool1/norm1', 'LRN'], ['conv2/norm2', 'LRN'], ['pool1/3x3_s2', 'Pooling'], ['pool2/3x3_s2', 'Pooling'], ['pool3/3x3_s2', 'Pooling'], ['pool4/3x3_s2', 'Pooling']]) {
    const l = byName.get(name);
    if (!l || l.type !== type) throw notIt(`it has no ${type} layer ${name}`);
    if (type === 'LRN') {
      const p = l.lrn;
      // Caffe stores the parameters as float32.
      if (!p || p.localSize !== LRN.size || p.alpha !== Math.fround(LRN.alpha) || p.beta !== LRN.beta || p.k !== LRN.k || p.normRegion !== 'ACROSS_CHANNELS') {
        throw notIt(`${name} is not an LRN of size ${LRN.size}, alpha ${LRN.alpha}, beta ${LRN.beta} across channels`);
      }
    } else {
      const p = l.pooling;
      if (!p || p.pool !== 'MAX' || !sameParam(p.kernel, 3) || !sameParam(p.stride, 2) || !sameParam(p.pad, 0) || p.globalPooling) throw notIt(`${name} is not a 3x3 max pool of stride 2`);
    }
  }
  return sd;
}

/** Caffe's conv1 reads BGR: the same filter over RGB has its input channels reversed. */
function bgrToRgb(w: Float32Array, out: number, taps: number): Float32Array {
  const r = new Float32Array(w.length);
  for (let o = 0; o < out; o++) {
    for (let c = 0; c < 3; c++) r.set(w.subarray((o * 3 + c) * taps, (o * 3 + c + 1) * taps), (o * 3 + (2 - c)) * taps);
  }
  return r;
}
