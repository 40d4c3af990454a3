// Test-only helpers: a small protobuf encoder and caffe.NetParameter writers (V1 and V2 layouts, field
// numbers from caffe.proto), so tests can craft unusual and hostile .caffemodel files without Caffe.
import { expect } from 'vitest';
import { V1_LAYER_TYPES } from '../../src/core/caffe/caffemodel';
import { CaffeError, type CaffeBlob, type CaffeLayer, type CaffeNet, type CaffePhase } from '../../src/core/caffe';
import { concat } from './torchBuilders';

export { concat };

/** Writes protobuf wire format. Big payloads are kept as chunks, so multi-megabyte blobs stay cheap. */
export class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private pending: number[] = [];

  private flush(): void {
    if (this.pending.length) this.chunks.push(Uint8Array.from(this.pending));
    this.pending = [];
  }

  /** Bytes as they are. */
  raw(bytes: ArrayLike<number>): this {
    if (bytes.length > 256) {
      this.flush();
      this.chunks.push(Uint8Array.from(bytes as ArrayLike<number>));
    } else for (let i = 0; i < bytes.length; i++) this.pending.push(bytes[i] & 0xff);
    return this;
  }

  /** An unsigned varint (a bigint for values past 2^53, or to write negative int64 as 10 bytes). */
  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) byte |= 0x80;
      this.pending.push(byte);
    } while (v > 0n);
    return this;
  }

  tag(no: number, wire: number): this {
    return this.varint(no * 8 + wire);
  }

  /** A varint field; negative numbers are written as int32/int64 are (10 bytes, sign-extended). */
  int(no: number, value: number | bigint): this {
    return this.tag(no, 0).varint(value);
  }

  bool(no: number, value: boolean): this {
    return this.int(no, value ? 1 : 0);
  }

  float(no: number, value: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    return this.tag(no, 5).raw(b);
  }

  double(no: number, value: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    return this.tag(no, 1).raw(b);
  }

  /** A length-delimited field holding `payload`. */
  bytes(no: number, payload: Uint8Array): this {
    this.tag(no, 2).varint(payload.length);
    this.flush();
    this.chunks.push(payload);
    return this;
  }

  string(no: number, s: string): this {
    return this.bytes(no, new TextEncoder().encode(s));
  }

  message(no: number, build: (w: ProtoWriter) => unknown): this {
    const w = new ProtoWriter();
    build(w);
    return this.bytes(no, w.finish());
  }

  packedVarints(no: number, values: (number | bigint)[]): this {
    const w = new ProtoWriter();
    for (const v of values) w.varint(v);
    return this.bytes(no, w.finish());
  }

  packedFloats(no: number, values: ArrayLike<number>): this {
    const f = Float32Array.from(values);
    return this.bytes(no, new Uint8Array(f.buffer));
  }

  packedDoubles(no: number, values: ArrayLike<number>): this {
    const f = Float64Array.from(values);
    return this.bytes(no, new Uint8Array(f.buffer));
  }

  finish(): Uint8Array {
    this.flush();
    return concat(this.chunks);
  }
}


const V1_TYPE_NUMBER = new Map(Object.entries(V1_LAYER_TYPES).map(([k, v]) => [v, Number(k)]));
const PHASE = { TRAIN: 0, TEST: 1 } as const;

export interface BlobOptions {
  /** Write `double_data` instead of `data`. */
  double?: boolean;
  /** Write each float as its own wire-type-5 field instead of packed. */
  unpacked?: boolean;
}

/** A BlobProto: V2 with a BlobShape, V1 with the legacy num/channels/height/width (shape must have 4 dims then). */
export function encodeBlob(blob: CaffeBlob, layout: 'V1' | 'V2', options: BlobOptions = {}): Uint8Array {
  const w = new ProtoWriter();
  if (layout === 'V1') {
    if (blob.shape.length !== 4) throw new Error('V1 blobs have 4 dims');
    blob.shape.forEach((d, i) => w.int(i + 1, d));
  } else {
    w.message(7, (s) => s.packedVarints(1, blob.shape));
  }
  if (options.double) w.packedDoubles(8, blob.data);
  else if (options.unpacked) for (const v of blob.data) w.float(5, v);
  else w.packedFloats(5, blob.data);
  return w.finish();
}

function rules(w: ProtoWriter, no: number, phases: CaffePhase[]): void {
  for (const p of phases) w.message(no, (r) => r.int(1, PHASE[p]));
}

/** One layer message (LayerParameter or V1LayerParameter), every parameter written out explicitly. */
export function encodeLayer(layer: CaffeLayer, layout: 'V1' | 'V2', blobOptions: BlobOptions = {}): Uint8Array {
  const v1 = layout === 'V1';
  const w = new ProtoWriter();
  w.string(v1 ? 4 : 1, layer.name);
  if (v1) {
    const t = V1_TYPE_NUMBER.get(layer.type);
    if (t === undefined) throw new Error(`no V1 type for ${layer.type}`);
    w.int(5, t);
  } else w.string(2, layer.type);
  for (const b of layer.bottom) w.string(v1 ? 2 : 3, b);
  for (const t of layer.top) w.string(v1 ? 3 : 4, t);
  rules(w, v1 ? 32 : 8, layer.include);
  rules(w, v1 ? 33 : 9, layer.exclude);
  const c = layer.convolution;
  if (c) {
    w.message(v1 ? 10 : 106, (p) => {
      p.int(1, c.numOutput).bool(2, c.biasTerm).int(5, c.group);
      p.int(11, c.kernel[0]).int(12, c.kernel[1]).int(13, c.stride[0]).int(14, c.stride[1]).int(9, c.pad[0]).int(10, c.pad[1]);
      if (c.dilation !== 1) p.int(18, c.dilation);
    });
  }
  const pool = layer.pooling;
  if (pool) {
    w.message(v1 ? 19 : 121, (p) => {
      p.int(1, ['MAX', 'AVE', 'STOCHASTIC'].indexOf(pool.pool));
      if (pool.globalPooling) p.bool(12, true);
      else p.int(5, pool.kernel[0]).int(6, pool.kernel[1]);
      p.int(7, pool.stride[0]).int(8, pool.stride[1]).int(9, pool.pad[0]).int(10, pool.pad[1]);
    });
  }
  const lrn = layer.lrn;
  if (lrn) {
    w.message(v1 ? 18 : 118, (p) => p.int(1, lrn.localSize).float(2, lrn.alpha).float(3, lrn.beta).int(4, lrn.normRegion === 'ACROSS_CHANNELS' ? 0 : 1).float(5, lrn.k));
  }
  if (layer.concat) w.message(v1 ? 9 : 104, (p) => p.int(2, layer.concat!.axis));
  const ip = layer.innerProduct;
  if (ip) w.message(v1 ? 17 : 117, (p) => p.int(1, ip.numOutput).bool(2, ip.biasTerm));
  for (const b of layer.blobs) w.bytes(v1 ? 6 : 7, encodeBlob(b, layout, blobOptions));
  return w.finish();
}

/** A whole NetParameter: V1 with `input`/`input_dim` (4-d inputs), V2 with `input`/`input_shape`. */
export function encodeNet(net: CaffeNet, blobOptions: BlobOptions = {}): Uint8Array {
  const w = new ProtoWriter();
  w.string(1, net.name);
  for (const input of net.inputs) w.string(3, input.name);
  if (net.layout === 'V1') w.packedVarints(4, net.inputs.flatMap((i) => i.shape));
  else for (const input of net.inputs) w.message(8, (s) => s.packedVarints(1, input.shape));
  for (const layer of net.layers) w.bytes(net.layout === 'V1' ? 2 : 100, encodeLayer(layer, net.layout, blobOptions));
  return w.finish();
}

/** A top-level layer field (to splice into or append to a file: protobuf merges concatenated messages). */
export function layerField(layer: CaffeLayer, layout: 'V1' | 'V2', blobOptions: BlobOptions = {}): Uint8Array {
  return new ProtoWriter().bytes(layout === 'V1' ? 2 : 100, encodeLayer(layer, layout, blobOptions)).finish();
}

/** A layer with no parameters and no blobs. */
export function plainLayer(name: string, type: string, bottom: string[], top: string[], extra: Partial<CaffeLayer> = {}): CaffeLayer {
  return { name, type, bottom, top, include: [], exclude: [], blobs: [], ...extra };
}

/** Deterministic floats in [-1, 1). */
export function floats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 2 ** 31) - 1;
  }
  return out;
}

/**
 * A small network using every parameter the reader knows (convolution with stride/pad/group, both pooling
 * kinds, LRN, concat, inner product, dropout, softmax) and blobs, in the given layout. Blob shapes are 4-d
 * in V1 (legacy fields), as Caffe wrote them then.
 */
export function smallNet(layout: 'V1' | 'V2'): CaffeNet {
  const v1 = layout === 'V1';
  const bias = (n: number, seed: number): CaffeBlob => ({ shape: v1 ? [1, 1, 1, n] : [n], data: floats(n, seed) });
  const conv = (name: string, bottom: string, o: number, i: number, k: number, s: number, p: number, seed: number, group = 1): CaffeLayer =>
    plainLayer(name, 'Convolution', [bottom], [name], {
      convolution: { numOutput: o, kernel: [k, k], stride: [s, s], pad: [p, p], group, biasTerm: true, dilation: 1 },
      blobs: [{ shape: [o, i / group, k, k], data: floats((o * i * k * k) / group, seed) }, bias(o, seed + 1)],
    });
  return {
    name: 'TinyNet',
    layout,
    inputs: [{ name: 'data', shape: [1, 3, 8, 8] }],
    layers: [
      conv('conv1', 'data', 4, 3, 3, 2, 1, 1),
      plainLayer('relu1', 'ReLU', ['conv1'], ['conv1']),
      plainLayer('pool1', 'Pooling', ['conv1'], ['pool1'], { pooling: { pool: 'MAX', kernel: [3, 3], stride: [2, 2], pad: [0, 0], globalPooling: false } }),
      plainLayer('norm1', 'LRN', ['pool1'], ['norm1'], { lrn: { localSize: 3, alpha: Math.fround(2e-4), beta: 0.5, k: 2, normRegion: 'WITHIN_CHANNEL' } }),
      conv('a/1x1', 'norm1', 2, 4, 1, 1, 0, 3),
      conv('a/3x3', 'norm1', 2, 4, 3, 1, 1, 5, 2),
      plainLayer('a/output', 'Concat', ['a/1x1', 'a/3x3'], ['a/output'], { concat: { axis: 1 } }),
      plainLayer('pool2', 'Pooling', ['a/output'], ['pool2'], { pooling: { pool: 'AVE', kernel: [0, 0], stride: [1, 1], pad: [0, 0], globalPooling: true } }),
      plainLayer('drop', 'Dropout', ['pool2'], ['pool2']),
      plainLayer('fc', 'InnerProduct', ['pool2'], ['fc'], {
        innerProduct: { numOutput: 3, biasTerm: true },
        blobs: [{ shape: v1 ? [1, 1, 3, 4] : [3, 4], data: floats(12, 7) }, bias(3, 8)],
      }),
      plainLayer('prob', 'Softmax', ['fc'], ['prob']),
    ],
  };
}

/** A parsed net must be consistent: every blob holds what its shape says, and no more than the file could. */
export function checkNet(net: CaffeNet, input: Uint8Array, what: string): void {
  let floats = 0;
  for (const layer of net.layers) {
    for (const blob of layer.blobs) {
      // Plain checks first (fuzzing calls this thousands of times); expect() only to report a failure.
      const ok = blob.data instanceof Float32Array && blob.shape.every((d) => Number.isInteger(d) && d >= 0) && blob.data.length === blob.shape.reduce((a, d) => a * d, 1);
      if (!ok) expect({ shape: blob.shape, length: blob.data.length }, `${what}: ${layer.name}`).toBe('a blob holding what its shape says');
      floats += blob.data.length;
    }
  }
  if (floats * 4 > input.length) expect(floats * 4, what).toBeLessThanOrEqual(input.length);
  if (net.layers.length > input.length / 2) expect(net.layers.length, what).toBeLessThanOrEqual(input.length / 2);
}

/**
 * Runs `f`, which must throw a CaffeError whose message matches every pattern, and returns the message. The
 * catch-all wrapper in readCaffeModel is for bugs: every failure a test provokes must be diagnosed on purpose.
 */
export function caffeError(f: () => unknown, ...patterns: RegExp[]): string {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected a CaffeError').toBeInstanceOf(CaffeError);
  const message = (err as Error).message;
  expect(message).not.toMatch(/^failed to read the caffemodel/);
  for (const p of patterns) expect(message).toMatch(p);
  return message;
}
