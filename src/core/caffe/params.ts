// The layer parameter messages a CNN backbone needs, with Caffe's defaults and its rules for the
// kernel_size / kernel_h / kernel_w spellings (as BaseConvolutionLayer and PoolingLayer apply them).
// Each takes every occurrence of its field: protobuf merges repeated occurrences of one message field.
import { CaffeError } from './errors';
import type { Field, Message } from './wire';
import type { CaffeConvParam, CaffeLrnParam, CaffePhase, CaffePoolParam } from './types';

function unsupported(message: string): never {
  throw new CaffeError(`the caffemodel is not supported: ${message}`);
}

function corrupt(message: string): never {
  throw new CaffeError(`the caffemodel is corrupt: ${message}`);
}

/** The fields of all occurrences of a message field, in order, as one merged message. */
export function mergedFields(parent: Message, occurrences: Field[], type: string, name: string): { msg: Message; fields: Field[] }[] {
  return occurrences.map((f) => {
    const msg = parent.sub(f, type, name);
    return { msg, fields: msg.fields() };
  });
}

/** Visits each field of the merged message with the message that holds it. */
function eachField(parts: { msg: Message; fields: Field[] }[], visit: (msg: Message, f: Field) => void): void {
  for (const { msg, fields } of parts) for (const f of fields) visit(msg, f);
}

/** At most this many values in a repeated spatial field (kernel_size, stride, pad, dilation): 2-d plus slack for a clear error. */
const MAX_SPATIAL = 8;

/** A repeated spatial value (0, 1 or 2 entries for a 2-d layer), or the _h/_w pair that replaces it. */
function spatial(values: number[], h: number | undefined, w: number | undefined, fallback: number | undefined, what: string, where: string): [number, number] | undefined {
  if (h !== undefined || w !== undefined) {
    if (h === undefined || w === undefined) corrupt(`${where} sets only one of ${what}_h and ${what}_w`);
    if (values.length > 0) corrupt(`${where} sets both ${what === 'kernel' ? 'kernel_size' : what} and ${what}_h/${what}_w`);
    return [h, w];
  }
  if (values.length === 0) return fallback === undefined ? undefined : [fallback, fallback];
  if (values.length === 1) return [values[0], values[0]];
  if (values.length === 2) return [values[0], values[1]];
  return unsupported(`${where} has ${values.length} ${what} values: only 2-d layers are supported`);
}

const CONV_NUM_OUTPUT = 1;
const CONV_BIAS_TERM = 2;
const CONV_PAD = 3;
const CONV_KERNEL_SIZE = 4;
const CONV_GROUP = 5;
const CONV_STRIDE = 6;
const CONV_PAD_H = 9;
const CONV_PAD_W = 10;
const CONV_KERNEL_H = 11;
const CONV_KERNEL_W = 12;
const CONV_STRIDE_H = 13;
const CONV_STRIDE_W = 14;
const CONV_DILATION = 18;

export function readConvolution(parent: Message, occurrences: Field[], where: string): CaffeConvParam {
  let numOutput = 0;
  let biasTerm = true;
  let group = 1;
  const pad: number[] = [];
  const kernel: number[] = [];
  const stride: number[] = [];
  const dilation: number[] = [];
  const hw: Record<number, number> = {};
  eachField(mergedFields(parent, occurrences, 'ConvolutionParameter', `${where}'s convolution_param`), (msg, f) => {
    const name = `${where}'s convolution_param field ${f.no}`;
    switch (f.no) {
      case CONV_NUM_OUTPUT:
        numOutput = msg.uint32(f, `${where}'s num_output`);
        break;
      case CONV_BIAS_TERM:
        biasTerm = msg.bool(f, `${where}'s bias_term`);
        break;
      case CONV_GROUP:
        group = msg.uint32(f, `${where}'s group`);
        break;
      case CONV_PAD:
        msg.varints(f, `${where}'s pad`, pad, false, MAX_SPATIAL);
        break;
      case CONV_KERNEL_SIZE:
        msg.varints(f, `${where}'s kernel_size`, kernel, false, MAX_SPATIAL);
        break;
      case CONV_STRIDE:
        msg.varints(f, `${where}'s stride`, stride, false, MAX_SPATIAL);
        break;
      case CONV_DILATION:
        msg.varints(f, `${where}'s dilation`, dilation, false, MAX_SPATIAL);
        break;
      case CONV_PAD_H:
      case CONV_PAD_W:
      case CONV_KERNEL_H:
      case CONV_KERNEL_W:
      case CONV_STRIDE_H:
      case CONV_STRIDE_W:
        hw[f.no] = msg.uint32(f, name);
        break;
      default:
      // fillers, engine, axis, force_nd_im2col: not needed to run a trained network.
    }
  });
  const k = spatial(kernel, hw[CONV_KERNEL_H], hw[CONV_KERNEL_W], undefined, 'kernel', where);
  if (!k) corrupt(`${where} is a convolution without a kernel size`);
  const d = spatial(dilation, undefined, undefined, 1, 'dilation', where) as [number, number];
  if (d[0] !== d[1]) unsupported(`${where} has different dilations ${d[0]} and ${d[1]} for height and width`);
  return {
    numOutput,
    kernel: k,
    stride: spatial(stride, hw[CONV_STRIDE_H], hw[CONV_STRIDE_W], 1, 'stride', where) as [number, number],
    pad: spatial(pad, hw[CONV_PAD_H], hw[CONV_PAD_W], 0, 'pad', where) as [number, number],
    group,
    biasTerm,
    dilation: d[0],
  };
}

const POOL_METHODS = ['MAX', 'AVE', 'STOCHASTIC'] as const;
const POOL_POOL = 1;
const POOL_KERNEL_SIZE = 2;
const POOL_STRIDE = 3;
const POOL_PAD = 4;
const POOL_KERNEL_H = 5;
const POOL_KERNEL_W = 6;
const POOL_STRIDE_H = 7;
const POOL_STRIDE_W = 8;
const POOL_PAD_H = 9;
const POOL_PAD_W = 10;
const POOL_GLOBAL = 12;
const POOL_ROUND_MODE = 13;

export function readPooling(parent: Message, occurrences: Field[], where: string): CaffePoolParam {
  let pool: CaffePoolParam['pool'] = 'MAX';
  let globalPooling = false;
  // Optional (not repeated) in PoolingParameter: the last occurrence wins.
  const one: Record<number, number> = {};
  eachField(mergedFields(parent, occurrences, 'PoolingParameter', `${where}'s pooling_param`), (msg, f) => {
    switch (f.no) {
      case POOL_POOL: {
        const m = msg.int32(f, `${where}'s pool method`);
        if (m < 0 || m >= POOL_METHODS.length) corrupt(`${where} has the unknown pooling method ${m}`);
        pool = POOL_METHODS[m];
        break;
      }
      case POOL_GLOBAL:
        globalPooling = msg.bool(f, `${where}'s global_pooling`);
        break;
      case POOL_ROUND_MODE: {
        const m = msg.int32(f, `${where}'s round_mode`);
        // CEIL (0) is what every Caffe before 2018 does and what consumers compute; FLOOR changes output sizes.
        if (m !== 0) unsupported(`${where} has round_mode ${m === 1 ? 'FLOOR' : m}; only CEIL (Caffe's default) is supported`);
        break;
      }
      case POOL_KERNEL_SIZE:
      case POOL_STRIDE:
      case POOL_PAD:
      case POOL_KERNEL_H:
      case POOL_KERNEL_W:
      case POOL_STRIDE_H:
      case POOL_STRIDE_W:
      case POOL_PAD_H:
      case POOL_PAD_W:
        one[f.no] = msg.uint32(f, `${where}'s pooling_param field ${f.no}`);
        break;
      default:
      // engine: not needed.
    }
  });
  const list = (no: number) => (one[no] === undefined ? [] : [one[no]]);
  const kernel = spatial(list(POOL_KERNEL_SIZE), one[POOL_KERNEL_H], one[POOL_KERNEL_W], undefined, 'kernel', where);
  if (globalPooling && kernel) corrupt(`${where} sets a kernel size together with global_pooling`);
  if (!globalPooling && !kernel) corrupt(`${where} is a pooling layer without a kernel size`);
  return {
    pool,
    kernel: kernel ?? [0, 0],
    stride: spatial(list(POOL_STRIDE), one[POOL_STRIDE_H], one[POOL_STRIDE_W], 1, 'stride', where) as [number, number],
    pad: spatial(list(POOL_PAD), one[POOL_PAD_H], one[POOL_PAD_W], 0, 'pad', where) as [number, number],
    globalPooling,
  };
}

const NORM_REGIONS = ['ACROSS_CHANNELS', 'WITHIN_CHANNEL'] as const;

export function readLrn(parent: Message, occurrences: Field[], where: string): CaffeLrnParam {
  const p: CaffeLrnParam = { localSize: 5, alpha: 1, beta: 0.75, k: 1, normRegion: 'ACROSS_CHANNELS' };
  eachField(mergedFields(parent, occurrences, 'LRNParameter', `${where}'s lrn_param`), (msg, f) => {
    switch (f.no) {
      case 1:
        p.localSize = msg.uint32(f, `${where}'s local_size`);
        break;
      case 2:
        p.alpha = msg.float(f, `${where}'s alpha`);
        break;
      case 3:
        p.beta = msg.float(f, `${where}'s beta`);
        break;
      case 4: {
        const r = msg.int32(f, `${where}'s norm_region`);
        if (r < 0 || r >= NORM_REGIONS.length) corrupt(`${where} has the unknown LRN norm_region ${r}`);
        p.normRegion = NORM_REGIONS[r];
        break;
      }
      case 5:
        p.k = msg.float(f, `${where}'s k`);
        break;
      default:
      // engine: not needed.
    }
  });
  return p;
}

export function readConcat(parent: Message, occurrences: Field[], where: string): { axis: number } {
  let axis: number | undefined;
  let concatDim: number | undefined;
  eachField(mergedFields(parent, occurrences, 'ConcatParameter', `${where}'s concat_param`), (msg, f) => {
    if (f.no === 2) axis = msg.int32(f, `${where}'s axis`);
    else if (f.no === 1) concatDim = msg.uint32(f, `${where}'s concat_dim`);
  });
  // As ConcatLayer::LayerSetUp: the deprecated concat_dim stands for axis, but not both.
  if (axis !== undefined && concatDim !== undefined) corrupt(`${where} sets both axis and concat_dim`);
  return { axis: axis ?? concatDim ?? 1 };
}

export function readInnerProduct(parent: Message, occurrences: Field[], where: string): { numOutput: number; biasTerm: boolean } {
  const p = { numOutput: 0, biasTerm: true };
  eachField(mergedFields(parent, occurrences, 'InnerProductParameter', `${where}'s inner_product_param`), (msg, f) => {
    if (f.no === 1) p.numOutput = msg.uint32(f, `${where}'s num_output`);
    else if (f.no === 2) p.biasTerm = msg.bool(f, `${where}'s bias_term`);
    else if (f.no === 6 && msg.bool(f, `${where}'s transpose`)) unsupported(`${where} is an inner product with transpose: true (its weights are stored the other way round)`);
  });
  return p;
}

const PHASES = ['TRAIN', 'TEST'] as const;

/** The phases of NetStateRule messages (include or exclude). Rules on levels or stages only have no phase. */
export function readPhases(parent: Message, occurrences: Field[], where: string): CaffePhase[] {
  const out: CaffePhase[] = [];
  for (const f of occurrences) {
    const rule = parent.sub(f, 'NetStateRule', `${where}'s rule`);
    let phase: CaffePhase | undefined;
    rule.forEach((r) => {
      if (r.no !== 1) return;
      const v = rule.int32(r, `${where}'s rule phase`);
      if (v < 0 || v >= PHASES.length) corrupt(`${where} has a rule with the unknown phase ${v}`);
      phase = PHASES[v];
    });
    if (phase !== undefined && !out.includes(phase)) out.push(phase);
  }
  return out;
}
