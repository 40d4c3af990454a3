// The real BVLC GoogLeNet weights (../shared/weights, see PROVENANCE.md there) in Caffe's V1 and V2 layouts,
// a training snapshot built from them (data and loss layers, auxiliary classifiers, Split layers), and
// mutations and cuts of the real file.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CaffeError, readCaffeModel, type CaffeLayer, type CaffeNet } from './index';
import { Message } from './wire';
import { seededRandom } from '../random';
import { readShared } from '../../../test/support/shared';
import { checkNet, concat, floats, layerField, plainLayer, ProtoWriter } from '../../../test/support/caffeBuilders';

let v1Bytes: Uint8Array;
let v2Bytes: Uint8Array;
let v1: CaffeNet;
let v2: CaffeNet;

beforeAll(() => {
  v1Bytes = readShared('weights', 'bvlc_googlenet.caffemodel');
  v2Bytes = readShared('weights', 'bvlc_googlenet.v2.caffemodel');
  v1 = readCaffeModel(v1Bytes);
  v2 = readCaffeModel(v2Bytes);
});

const count = (shape: number[]) => shape.reduce((a, d) => a * d, 1);
const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const withoutBlobs = (layers: CaffeLayer[]) => layers.map(({ blobs: _blobs, ...rest }) => rest);
const byName = (net: CaffeNet, name: string) => net.layers.find((l) => l.name === name)!;

/** The deploy network's backbone filter, as a consumer would write it: no classifiers, no auxiliary heads. */
const backboneOnly = (l: { name: string }) => !/^loss[123]\//.test(l.name);

describe('BVLC GoogLeNet', () => {
  it('reads the V1 file: 142 layers, 58 with weights, input data 10x3x224x224', () => {
    expect([v1.name, v1.layout, v1.layers.length]).toEqual(['GoogleNet', 'V1', 142]);
    expect(v1.inputs).toEqual([{ name: 'data', shape: [10, 3, 224, 224] }]);
    const weighted = v1.layers.filter((l) => l.blobs.length > 0);
    expect(weighted).toHaveLength(58);
    expect(weighted.filter((l) => l.type === 'Convolution')).toHaveLength(57);
    expect(weighted.filter((l) => l.type === 'InnerProduct').map((l) => l.name)).toEqual(['loss3/classifier']);
    expect(new Set(v1.layers.map((l) => l.type))).toEqual(new Set(['Convolution', 'ReLU', 'Pooling', 'LRN', 'Concat', 'Dropout', 'InnerProduct', 'Softmax']));
    checkNet(v1, v1Bytes, 'V1');
  });

  it('reads the 28 MB file quickly: blob data is copied in bulk, not float by float', () => {
    const t0 = performance.now();
    const net = readCaffeModel(v1Bytes);
    const ms = performance.now() - t0;
    expect(net.layers).toHaveLength(142);
    // About 30 ms on one core; the margin keeps a busy machine from failing it.
    expect(ms).toBeLessThan(2000);
  });

  it('reads the V2 file: 143 layers with its Input layer, the same 58 with weights', () => {
    expect([v2.name, v2.layout, v2.layers.length]).toEqual(['GoogleNet', 'V2', 143]);
    expect(v2.layers[0]).toMatchObject({ name: 'data', type: 'Input', top: ['data'], blobs: [] });
    expect(v2.inputs).toEqual([{ name: 'data', shape: [10, 3, 224, 224] }]);
    expect(v2.layers.filter((l) => l.blobs.length > 0).map((l) => l.name)).toEqual(v1.layers.filter((l) => l.blobs.length > 0).map((l) => l.name));
    checkNet(v2, v2Bytes, 'V2');
  });

  it('gives the same layers, parameters and connections in both layouts', () => {
    expect(withoutBlobs(v2.layers.slice(1))).toEqual(withoutBlobs(v1.layers));
  });

  it('gives the same float weights in both layouts, for every layer with weights', () => {
    let compared = 0;
    for (const a of v1.layers.filter((l) => l.blobs.length > 0)) {
      const b = byName(v2, a.name);
      expect(b.blobs, a.name).toHaveLength(a.blobs.length);
      a.blobs.forEach((blob, i) => {
        expect(count(blob.shape), `${a.name} blob ${i}`).toBe(count(b.blobs[i].shape));
        expect(bytesOf(blob.data).equals(bytesOf(b.blobs[i].data)), `${a.name} blob ${i}`).toBe(true);
        compared += blob.data.length;
      });
      // Shapes as stored: V1 keeps the legacy 4-d num/channels/height/width, V2 the BlobShape dims.
      if (a.type === 'Convolution') {
        const c = a.convolution!;
        expect(a.blobs[0].shape).toEqual(b.blobs[0].shape);
        expect(a.blobs[0].shape[0]).toBe(c.numOutput);
        expect(a.blobs[0].shape.slice(2)).toEqual(c.kernel);
        expect([a.blobs[1].shape, b.blobs[1].shape]).toEqual([[1, 1, 1, c.numOutput], [c.numOutput]]);
      }
    }
    // GoogLeNet has about 7.0M parameters.
    expect(compared).toBeGreaterThan(6_900_000);
    expect(compared).toBeLessThan(7_100_000);
    expect(byName(v1, 'loss3/classifier').blobs.map((b) => b.shape)).toEqual([[1, 1, 1000, 1024], [1, 1, 1, 1000]]);
    expect(byName(v2, 'loss3/classifier').blobs.map((b) => b.shape)).toEqual([[1000, 1024], [1000]]);
  });

  it('has the parameters of the published network', () => {
    for (const net of [v1, v2]) {
      expect(byName(net, 'conv1/7x7_s2').convolution).toEqual({ numOutput: 64, kernel: [7, 7], stride: [2, 2], pad: [3, 3], group: 1, biasTerm: true, dilation: 1 });
      expect(byName(net, 'pool1/3x3_s2').pooling).toEqual({ pool: 'MAX', kernel: [3, 3], stride: [2, 2], pad: [0, 0], globalPooling: false });
      const lrn = byName(net, 'pool1/norm1').lrn!;
      expect(lrn).toMatchObject({ localSize: 5, beta: 0.75, k: 1, normRegion: 'ACROSS_CHANNELS' });
      expect(lrn.alpha).toBe(Math.fround(1e-4));
      expect(byName(net, 'inception_3a/output')).toMatchObject({
        type: 'Concat',
        concat: { axis: 1 },
        bottom: ['inception_3a/1x1', 'inception_3a/3x3', 'inception_3a/5x5', 'inception_3a/pool_proj'],
      });
      expect(byName(net, 'inception_3a/pool').pooling).toEqual({ pool: 'MAX', kernel: [3, 3], stride: [1, 1], pad: [1, 1], globalPooling: false });
      expect(byName(net, 'pool5/7x7_s1').pooling).toEqual({ pool: 'AVE', kernel: [7, 7], stride: [1, 1], pad: [0, 0], globalPooling: false });
      expect(byName(net, 'loss3/classifier').innerProduct).toEqual({ numOutput: 1000, biasTerm: true });
      expect(net.layers.at(-1)).toMatchObject({ name: 'prob', type: 'Softmax', bottom: ['loss3/classifier'] });
    }
  });

  it('skips the classifier without decoding it', () => {
    const decodeBlobs = vi.fn(backboneOnly);
    const net = readCaffeModel(v1Bytes, { decodeBlobs });
    expect(decodeBlobs).toHaveBeenCalledTimes(58);
    expect(byName(net, 'loss3/classifier').blobs).toEqual([]);
    expect(net.layers.filter((l) => l.blobs.length > 0)).toHaveLength(57);
  });
});

/** The byte range of each top-level layer field, in order. */
function layerRanges(bytes: Uint8Array, layout: 'V1' | 'V2'): { at: number; end: number }[] {
  const no = layout === 'V1' ? 2 : 100;
  return new Message(bytes, 0, bytes.length, 'NetParameter').fields().filter((f) => f.no === no).map((f) => ({ at: f.at, end: f.end }));
}

/**
 * An auxiliary classifier as in BVLC's train_val.prototxt (loss1/* after inception_4a, loss2/* after
 * inception_4d): average pooling, a 1x1 convolution, a 1024-wide inner product with real-sized weights,
 * dropout, the 1000-way classifier, its loss and accuracies. The classifier's weight blob is not a valid
 * BlobProto at all (a run of group tags): a reader that parsed it would fail.
 */
function auxiliaryHead(prefix: 'loss1' | 'loss2', bottom: string, channels: number, layout: 'V1' | 'V2'): Uint8Array {
  const p = (s: string) => `${prefix}/${s}`;
  const v1 = layout === 'V1';
  const bias = (n: number) => ({ shape: v1 ? [1, 1, 1, n] : [n], data: floats(n, n) });
  const layers: CaffeLayer[] = [
    plainLayer(p('ave_pool'), 'Pooling', [bottom], [p('ave_pool')], { pooling: { pool: 'AVE', kernel: [5, 5], stride: [3, 3], pad: [0, 0], globalPooling: false } }),
    plainLayer(p('conv'), 'Convolution', [p('ave_pool')], [p('conv')], {
      convolution: { numOutput: 128, kernel: [1, 1], stride: [1, 1], pad: [0, 0], group: 1, biasTerm: true, dilation: 1 },
      blobs: [{ shape: [128, channels, 1, 1], data: floats(128 * channels, 1) }, bias(128)],
    }),
    plainLayer(p('relu_conv'), 'ReLU', [p('conv')], [p('conv')]),
    plainLayer(p('fc'), 'InnerProduct', [p('conv')], [p('fc')], {
      innerProduct: { numOutput: 1024, biasTerm: true },
      blobs: [{ shape: v1 ? [1, 1, 1024, 2048] : [1024, 2048], data: floats(1024 * 2048, 2) }, bias(1024)],
    }),
    plainLayer(p('relu_fc'), 'ReLU', [p('fc')], [p('fc')]),
    plainLayer(p('drop_fc'), 'Dropout', [p('fc')], [p('fc')]),
  ];
  const classifier = plainLayer(p('classifier'), 'InnerProduct', [p('fc')], [p('classifier')], { innerProduct: { numOutput: 1000, biasTerm: true } });
  const notABlob = new Uint8Array(1024 * 1000 * 4).fill(0x0b);
  const classifierField = new ProtoWriter().bytes(v1 ? 2 : 100, encodeLayerWithBlobBytes(classifier, layout, notABlob)).finish();
  const tail: CaffeLayer[] = [
    plainLayer(p('loss'), 'SoftmaxWithLoss', [p('classifier'), 'label'], [p('loss')]),
    plainLayer(p('top-1'), 'Accuracy', [p('classifier'), 'label'], [p('top-1')], { include: ['TEST'] }),
    plainLayer(p('top-5'), 'Accuracy', [p('classifier'), 'label'], [p('top-5')], { include: ['TEST'] }),
  ];
  return concat([...layers.map((l) => layerField(l, layout)), classifierField, ...tail.map((l) => layerField(l, layout))]);
}

/** A layer message followed by one `blobs` field holding `payload` as it is. */
function encodeLayerWithBlobBytes(layer: CaffeLayer, layout: 'V1' | 'V2', payload: Uint8Array): Uint8Array {
  const field = layerField(layer, layout);
  const inner = new Message(field, 0, field.length, 'NetParameter').fields()[0];
  return concat([field.subarray(inner.start, inner.end), new ProtoWriter().bytes(layout === 'V1' ? 6 : 7, payload).finish()]);
}

/**
 * What BVLC's own download holds beyond the deploy network: train and test data layers, a Split layer,
 * the two auxiliary classifiers where train_val.prototxt has them, and the final loss and accuracies.
 */
function trainingSnapshot(bytes: Uint8Array, net: CaffeNet, layout: 'V1' | 'V2'): { bytes: Uint8Array; added: string[] } {
  const ranges = layerRanges(bytes, layout);
  const at = (name: string) => ranges[net.layers.findIndex((l) => l.name === name)].end;
  const data = [
    plainLayer('data', 'Data', [], ['data', 'label'], { include: ['TRAIN'] }),
    plainLayer('data', 'Data', [], ['data', 'label'], { include: ['TEST'] }),
  ].map((l) => layerField(l, layout));
  const split = layerField(plainLayer('inception_4a/output_split', 'Split', ['inception_4a/output'], ['inception_4a/output_split_0', 'inception_4a/output_split_1']), layout);
  const end = [
    plainLayer('loss3/loss3', 'SoftmaxWithLoss', ['loss3/classifier', 'label'], ['loss3/loss3']),
    plainLayer('loss3/top-1', 'Accuracy', ['loss3/classifier', 'label'], ['loss3/top-1'], { include: ['TEST'] }),
  ].map((l) => layerField(l, layout));
  const first = ranges[0].at;
  const a = at('inception_4a/output');
  const d = at('inception_4d/output');
  const out = concat([
    bytes.subarray(0, first),
    ...data,
    bytes.subarray(first, a),
    split,
    auxiliaryHead('loss1', 'inception_4a/output', 512, layout),
    bytes.subarray(a, d),
    auxiliaryHead('loss2', 'inception_4d/output', 528, layout),
    bytes.subarray(d),
    ...end,
  ]);
  const aux = ['ave_pool', 'conv', 'relu_conv', 'fc', 'relu_fc', 'drop_fc', 'classifier', 'loss', 'top-1', 'top-5'];
  return { bytes: out, added: ['data', 'data', 'inception_4a/output_split', ...aux.map((s) => `loss1/${s}`), ...aux.map((s) => `loss2/${s}`), 'loss3/loss3', 'loss3/top-1'] };
}

describe('a training snapshot of BVLC GoogLeNet (data, loss and Split layers, auxiliary classifiers)', () => {
  for (const layout of ['V1', 'V2'] as const) {
    it(`reads the ${layout} snapshot, skipping the auxiliary classifiers' blobs without parsing them`, () => {
      const deploy = layout === 'V1' ? v1 : v2;
      const { bytes, added } = trainingSnapshot(layout === 'V1' ? v1Bytes : v2Bytes, deploy, layout);
      expect(bytes.length).toBeGreaterThan((layout === 'V1' ? v1Bytes : v2Bytes).length + 20_000_000);

      const decodeBlobs = vi.fn(backboneOnly);
      const net = readCaffeModel(bytes, { decodeBlobs });
      expect(net.layers).toHaveLength(deploy.layers.length + added.length);
      // The deploy layers are all there, in order, with the same weights (the classifiers' left empty).
      const kept = net.layers.filter((l) => !added.includes(l.name) || (l.name === 'data' && l.type === 'Input'));
      expect(withoutBlobs(kept)).toEqual(withoutBlobs(deploy.layers));
      for (const l of kept) {
        const expected = backboneOnly(l) ? deploy.layers.find((x) => x.name === l.name)!.blobs : [];
        expect(l.blobs.map((b) => b.shape), l.name).toEqual(expected.map((b) => b.shape));
        l.blobs.forEach((b, i) => expect(bytesOf(b.data).equals(bytesOf(expected[i].data)), l.name).toBe(true));
      }
      // Every layer with blobs was offered to the callback, by name and type, the auxiliary ones included.
      const offered = decodeBlobs.mock.calls.map(([l]) => l.name);
      expect(offered.filter((n) => n.startsWith('loss1/'))).toEqual(['loss1/conv', 'loss1/fc', 'loss1/classifier']);
      expect(offered).toHaveLength(58 + 6);
      for (const l of net.layers.filter((x) => /^loss[12]\//.test(x.name))) expect(l.blobs, l.name).toEqual([]);

      // Training-only layers are recognisable by type and phase.
      const dataLayers = net.layers.filter((l) => l.type === 'Data');
      expect(dataLayers.map((l) => [l.include, l.exclude])).toEqual([[['TRAIN'], []], [['TEST'], []]]);
      expect(net.layers.filter((l) => l.type === 'SoftmaxWithLoss').map((l) => l.name)).toEqual(['loss1/loss', 'loss2/loss', 'loss3/loss3']);
      expect(net.layers.filter((l) => l.type === 'Accuracy').every((l) => l.include.includes('TEST'))).toBe(true);
      expect(byName(net, 'inception_4a/output_split')).toMatchObject({ type: 'Split', top: ['inception_4a/output_split_0', 'inception_4a/output_split_1'] });
      expect(byName(net, 'loss1/ave_pool').pooling).toEqual({ pool: 'AVE', kernel: [5, 5], stride: [3, 3], pad: [0, 0], globalPooling: false });
      expect(byName(net, 'loss2/classifier').innerProduct).toEqual({ numOutput: 1000, biasTerm: true });
      expect(net.inputs).toEqual(deploy.inputs);

      // The auxiliary heads' own weights read fine when asked for; their classifier's "blob" is garbage.
      const fc = readCaffeModel(bytes, { decodeBlobs: (l) => l.name === 'loss1/fc' });
      expect(byName(fc, 'loss1/fc').blobs.map((b) => b.shape)).toEqual([layout === 'V1' ? [1, 1, 1024, 2048] : [1024, 2048], layout === 'V1' ? [1, 1, 1, 1024] : [1024]]);
      expect(bytesOf(byName(fc, 'loss1/fc').blobs[0].data).equals(bytesOf(floats(1024 * 2048, 2)))).toBe(true);
      let err: unknown;
      try {
        readCaffeModel(bytes);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CaffeError);
      expect((err as Error).message).toMatch(/^the caffemodel is corrupt: in layer \d+ \('loss1\/classifier'\), field 1 at byte \d+ is a protobuf group/);
    });
  }
});

describe('cut and mutated real files', () => {
  it('refuses cuts of the real V2 file, or reads the layers before a cut between layers', () => {
    const ends = new Set(layerRanges(v2Bytes, 'V2').map((r) => r.end));
    const rand = seededRandom(11);
    const cuts = [1, 2, 3, 10, 100, ...Array.from({ length: 150 }, () => Math.floor(rand() * v2Bytes.length)), ...[...ends].slice(0, 20), v2Bytes.length - 1];
    for (const n of cuts) {
      const cut = v2Bytes.subarray(0, n);
      if (ends.has(n)) {
        const net = readCaffeModel(cut, { decodeBlobs: () => false });
        expect(withoutBlobs(net.layers)).toEqual(withoutBlobs(v2.layers.slice(0, net.layers.length)));
        continue;
      }
      let err: unknown;
      try {
        readCaffeModel(cut, { decodeBlobs: () => false });
      } catch (e) {
        err = e;
      }
      expect(err, `cut at ${n}`).toBeInstanceOf(CaffeError);
      expect((err as Error).message, `cut at ${n}`).toMatch(/^the caffemodel is truncated: .* runs past the end of the file/);
    }
  });

  it('gives a consistent net or a CaffeError for mutations of the real file\'s structure (all but the float data)', () => {
    // Structure: every byte outside the packed float payloads of the blobs.
    const payloads: [number, number][] = [];
    const top = new Message(v2Bytes, 0, v2Bytes.length, 'NetParameter');
    for (const lf of top.fields().filter((f) => f.no === 100)) {
      const layer = top.sub(lf, 'LayerParameter', 'layer');
      for (const bf of layer.fields()) {
        if (bf.no !== 7) continue;
        for (const df of layer.sub(bf, 'BlobProto', 'blob').fields()) if (df.no === 5) payloads.push([df.start, df.end]);
      }
    }
    const structure: number[] = [];
    let pos = 0;
    for (const [s, e] of payloads) {
      for (let i = pos; i < s; i++) structure.push(i);
      pos = e;
    }
    for (let i = pos; i < v2Bytes.length; i++) structure.push(i);
    expect(structure.length).toBeGreaterThan(10_000);
    expect(structure.length).toBeLessThan(100_000);

    const copy = v2Bytes.slice();
    const rand = seededRandom(2026);
    let refused = 0;
    const cases = 100;
    for (let i = 0; i < cases; i++) {
      const at = structure[Math.floor(rand() * structure.length)];
      copy[at] = [copy[at] ^ (1 << Math.floor(rand() * 8)), 0, 0xff, 0x80, 0x0b][i % 5];
      try {
        checkNet(readCaffeModel(copy, i % 5 === 0 ? {} : { decodeBlobs: backboneOnly }), copy, `byte ${at}`);
      } catch (e) {
        if (!(e instanceof CaffeError)) throw e;
        expect(e.message, `byte ${at}`).not.toMatch(/^failed to read the caffemodel/);
        refused++;
      }
      copy[at] = v2Bytes[at];
    }
    expect(refused).toBeGreaterThan(cases / 4);
  });
});
