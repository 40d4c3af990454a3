// NetParameter decoding on small synthetic files written by test/support/caffeBuilders.ts: both layouts,
// Caffe's defaults and alternative spellings, protobuf's merge rules, field order, and the decodeBlobs option.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { readCaffeModel, type CaffeLayer, type CaffeNet } from './index';
import { V1_LAYER_TYPES } from './caffemodel';
import { encodeBlob, encodeNet, floats, layerField, plainLayer, ProtoWriter, smallNet, concat, caffeError } from '../../../test/support/caffeBuilders';


/** A V2 file with one layer written field by field. */
function v2Layer(build: (w: ProtoWriter) => unknown, net: (w: ProtoWriter) => unknown = () => {}): Uint8Array {
  const w = new ProtoWriter().string(1, 'N');
  net(w);
  return w.message(100, build).finish();
}

function v1Layer(build: (w: ProtoWriter) => unknown): Uint8Array {
  return new ProtoWriter().message(2, build).finish();
}

const one = (bytes: Uint8Array): CaffeLayer => {
  const net = readCaffeModel(bytes);
  expect(net.layers).toHaveLength(1);
  return net.layers[0];
};

describe('readCaffeModel: both layouts', () => {
  for (const layout of ['V1', 'V2'] as const) {
    it(`reads back a ${layout} network with every parameter it knows`, () => {
      const net = smallNet(layout);
      expect(readCaffeModel(encodeNet(net))).toEqual(net);
    });

    it(`reads ${layout} blobs stored as unpacked floats and as double_data`, () => {
      const net = smallNet(layout);
      expect(readCaffeModel(encodeNet(net, { unpacked: true }))).toEqual(net);
      const doubles = readCaffeModel(encodeNet(net, { double: true }));
      expect(doubles).toEqual(net);
    });
  }

  it('gives V1 and V2 files of one network the same layers, blob shapes aside', () => {
    const a = readCaffeModel(encodeNet(smallNet('V1')));
    const b = readCaffeModel(encodeNet(smallNet('V2')));
    expect(a.layout).toBe('V1');
    expect(b.layout).toBe('V2');
    const strip = (n: CaffeNet) => n.layers.map((l) => ({ ...l, blobs: l.blobs.map((x) => x.data) }));
    expect(strip(a)).toEqual(strip(b));
    expect(a.inputs).toEqual(b.inputs);
  });

  it('maps every V1 layer type to its V2 type string', () => {
    const layers = Object.entries(V1_LAYER_TYPES).map(([n]) => new ProtoWriter().message(2, (l) => l.string(4, `l${n}`).int(5, Number(n)).message(10, (p) => p.int(4, 1)).message(19, (p) => p.int(2, 1))).finish());
    const net = readCaffeModel(concat(layers));
    expect(net.layers.map((l) => l.type)).toEqual(Object.values(V1_LAYER_TYPES));
    for (const [v1, v2] of [[4, 'Convolution'], [17, 'Pooling'], [15, 'LRN'], [18, 'ReLU'], [3, 'Concat'], [14, 'InnerProduct'], [6, 'Dropout'], [20, 'Softmax'], [5, 'Data'], [21, 'SoftmaxWithLoss'], [22, 'Split'], [1, 'Accuracy']] as const) {
      expect(V1_LAYER_TYPES[v1]).toBe(v2);
    }
  });

  it('reads a network of another architecture, whatever its layer names (rejecting it is the consumer\'s job)', () => {
    const net: CaffeNet = {
      name: 'CaffeNet',
      layout: 'V1',
      inputs: [{ name: 'image', shape: [1, 3, 4, 4] }],
      layers: [
        plainLayer('conv_a', 'Convolution', ['image'], ['conv_a'], {
          convolution: { numOutput: 2, kernel: [1, 1], stride: [1, 1], pad: [0, 0], group: 1, biasTerm: false, dilation: 1 },
          blobs: [{ shape: [2, 3, 1, 1], data: floats(6, 9) }],
        }),
        plainLayer('sig', 'Sigmoid', ['conv_a'], ['sig']),
        plainLayer('sum', 'Eltwise', ['sig', 'conv_a'], ['sum']),
      ],
    };
    expect(readCaffeModel(encodeNet(net))).toEqual(net);
  });
});

describe('readCaffeModel: parameters, defaults and spellings', () => {
  it('applies Caffe\'s defaults to a convolution', () => {
    const l = one(v2Layer((w) => w.string(1, 'c').string(2, 'Convolution').message(106, (p) => p.int(1, 8).int(4, 3))));
    expect(l.convolution).toEqual({ numOutput: 8, kernel: [3, 3], stride: [1, 1], pad: [0, 0], group: 1, biasTerm: true, dilation: 1 });
  });

  it('reads repeated kernel_size/stride/pad (packed or not), the _h/_w spellings, bias_term, group and dilation', () => {
    const l = one(v2Layer((w) => w.string(1, 'c').string(2, 'Convolution').message(106, (p) => p.int(1, 8).packedVarints(4, [3, 5]).int(6, 2).int(6, 1).packedVarints(3, [1]).bool(2, false).int(5, 4).int(18, 2))));
    expect(l.convolution).toEqual({ numOutput: 8, kernel: [3, 5], stride: [2, 1], pad: [1, 1], group: 4, biasTerm: false, dilation: 2 });
    const hw = one(v1Layer((w) => w.string(4, 'c').int(5, 4).message(10, (p) => p.int(1, 8).int(11, 7).int(12, 1).int(13, 2).int(14, 3).int(9, 3).int(10, 0))));
    expect(hw.convolution).toEqual({ numOutput: 8, kernel: [7, 1], stride: [2, 3], pad: [3, 0], group: 1, biasTerm: true, dilation: 1 });
  });

  it('merges repeated occurrences of a parameter message, as protobuf does', () => {
    const l = one(v2Layer((w) => w.string(1, 'c').string(2, 'Convolution').message(106, (p) => p.int(1, 8).int(4, 3)).message(106, (p) => p.int(1, 16).int(4, 5))));
    expect(l.convolution).toMatchObject({ numOutput: 16, kernel: [3, 5] });
    const renamed = one(v2Layer((w) => w.string(1, 'first').string(2, 'ReLU').string(1, 'second')));
    expect(renamed.name).toBe('second');
  });

  it('applies Caffe\'s defaults to pooling and reads its spellings', () => {
    expect(one(v2Layer((w) => w.string(2, 'Pooling').message(121, (p) => p.int(2, 3)))).pooling).toEqual({ pool: 'MAX', kernel: [3, 3], stride: [1, 1], pad: [0, 0], globalPooling: false });
    expect(one(v2Layer((w) => w.string(2, 'Pooling').message(121, (p) => p.int(1, 1).int(5, 2).int(6, 3).int(7, 1).int(8, 2).int(9, 1).int(10, 0)))).pooling).toEqual({ pool: 'AVE', kernel: [2, 3], stride: [1, 2], pad: [1, 0], globalPooling: false });
    expect(one(v2Layer((w) => w.string(2, 'Pooling').message(121, (p) => p.int(1, 2).bool(12, true).int(3, 2).int(4, 1)))).pooling).toEqual({ pool: 'STOCHASTIC', kernel: [0, 0], stride: [2, 2], pad: [1, 1], globalPooling: true });
    expect(one(v2Layer((w) => w.string(2, 'Pooling').message(121, (p) => p.int(2, 3).int(13, 0)))).pooling?.kernel).toEqual([3, 3]);
  });

  it('applies Caffe\'s defaults to LRN, concat and inner product', () => {
    expect(one(v2Layer((w) => w.string(2, 'LRN'))).lrn).toEqual({ localSize: 5, alpha: 1, beta: 0.75, k: 1, normRegion: 'ACROSS_CHANNELS' });
    expect(one(v2Layer((w) => w.string(2, 'Concat'))).concat).toEqual({ axis: 1 });
    expect(one(v2Layer((w) => w.string(2, 'Concat').message(104, (p) => p.int(1, 3)))).concat).toEqual({ axis: 3 });
    expect(one(v2Layer((w) => w.string(2, 'Concat').message(104, (p) => p.int(2, -1)))).concat).toEqual({ axis: -1 });
    expect(one(v2Layer((w) => w.string(2, 'InnerProduct').message(117, (p) => p.int(1, 10)))).innerProduct).toEqual({ numOutput: 10, biasTerm: true });
    expect(one(v2Layer((w) => w.string(2, 'InnerProduct').message(117, (p) => p.int(1, 10).bool(2, false).bool(6, false)))).innerProduct).toEqual({ numOutput: 10, biasTerm: false });
  });

  it('reads parameters only for the layer types that use them', () => {
    const l = one(v2Layer((w) => w.string(2, 'ReLU').message(106, (p) => p.int(1, 8))));
    expect(l.convolution).toBeUndefined();
    expect(Object.keys(l).sort()).toEqual(['blobs', 'bottom', 'exclude', 'include', 'name', 'top', 'type']);
  });

  it('reads include and exclude phases (rules on levels or stages only have none)', () => {
    const l = one(v1Layer((w) => w.string(4, 'd').int(5, 5).message(32, (r) => r.int(1, 0)).message(33, (r) => r.int(1, 1)).message(33, (r) => r.string(4, 'deploy'))));
    expect([l.type, l.include, l.exclude]).toEqual(['Data', ['TRAIN'], ['TEST']]);
    const v2 = one(v2Layer((w) => w.string(2, 'Accuracy').message(8, (r) => r.int(1, 1).int(2, 3))));
    expect([v2.include, v2.exclude]).toEqual([['TEST'], []]);
  });

  it('reads network inputs from input/input_dim, input/input_shape and Input layers', () => {
    const dims = readCaffeModel(new ProtoWriter().string(3, 'a').string(3, 'b').packedVarints(4, [1, 3, 4, 4]).int(4, 2).int(4, 1).int(4, 5).int(4, 5).message(2, (l) => l.int(5, 18)).finish());
    expect(dims.inputs).toEqual([{ name: 'a', shape: [1, 3, 4, 4] }, { name: 'b', shape: [2, 1, 5, 5] }]);
    const shapes = readCaffeModel(new ProtoWriter().string(3, 'x').message(8, (s) => s.packedVarints(1, [2, 7])).message(100, (l) => l.string(2, 'ReLU')).finish());
    expect(shapes.inputs).toEqual([{ name: 'x', shape: [2, 7] }]);
    const layer = readCaffeModel(v2Layer((w) => w.string(1, 'in').string(2, 'Input').string(4, 'data').string(4, 'label').message(143, (p) => p.message(1, (s) => s.packedVarints(1, [10, 3, 224, 224])))));
    expect(layer.inputs).toEqual([{ name: 'data', shape: [10, 3, 224, 224] }, { name: 'label', shape: [10, 3, 224, 224] }]);
    expect(layer.layers[0].type).toBe('Input');
  });

  it('skips unknown fields of every wire type at every level', () => {
    const junk = (w: ProtoWriter) => w.int(9999, 5).double(9998, 1).float(9997, 2).string(9996, 'x').bytes(9995, new Uint8Array([0xff, 0xff, 0x0f, 0x0e]));
    const net = smallNet('V2');
    const conv = net.layers[0];
    const bytes = new ProtoWriter()
      .string(1, net.name)
      .int(7, 1) // debug_info, known to Caffe but not needed
      .message(6, (s) => s.int(1, 1)) // state
      .string(3, 'data')
      .message(8, (s) => junk(s.packedVarints(1, [1, 3, 8, 8])))
      .message(100, (l) => {
        junk(l.string(1, conv.name).string(2, conv.type).string(3, 'data').string(4, conv.name));
        l.message(106, (p) => junk(p.int(1, 4).int(4, 3).int(6, 2).int(3, 1).message(7, (f) => f.string(1, 'xavier'))));
        for (const b of conv.blobs) l.bytes(7, concat([encodeBlob(b, 'V2'), new ProtoWriter().packedFloats(6, b.data).finish(), junk(new ProtoWriter()).finish()]));
        l.message(6, (p) => p.float(3, 1)); // param { lr_mult }
      })
      .finish();
    const read = readCaffeModel(concat([bytes, junk(new ProtoWriter()).finish()]));
    expect(read.layers).toEqual([conv]);
    expect(read.inputs).toEqual(net.inputs);
  });

  it('does not depend on field order: blobs before the name and type', () => {
    const blob = { shape: [2, 2], data: floats(4, 1) };
    const bytes = v2Layer((w) => w.bytes(7, encodeBlob(blob, 'V2')).message(117, (p) => p.int(1, 2)).string(4, 'fc').string(1, 'fc').string(2, 'InnerProduct'));
    const seen: { name: string; type: string }[] = [];
    const net = readCaffeModel(bytes, { decodeBlobs: (l) => (seen.push(l), true) });
    expect(seen).toEqual([{ name: 'fc', type: 'InnerProduct' }]);
    expect(net.layers[0]).toEqual(plainLayer('fc', 'InnerProduct', [], ['fc'], { innerProduct: { numOutput: 2, biasTerm: true }, blobs: [blob] }));
  });
});

describe('readCaffeModel: decodeBlobs', () => {
  it('asks once per layer with blobs, and leaves the blobs of refused layers empty', () => {
    const net = smallNet('V2');
    const decodeBlobs = vi.fn((l: { name: string; type: string }) => l.type !== 'InnerProduct');
    const read = readCaffeModel(encodeNet(net), { decodeBlobs });
    expect(decodeBlobs.mock.calls.map(([l]) => l)).toEqual(net.layers.filter((l) => l.blobs.length > 0).map(({ name, type }) => ({ name, type })));
    expect(read.layers.find((l) => l.name === 'fc')!.blobs).toEqual([]);
    expect(read.layers.find((l) => l.name === 'conv1')!.blobs).toEqual(net.layers[0].blobs);
  });

  it('never parses the blobs of refused layers (a corrupt blob there does not matter)', () => {
    const corrupt = new Uint8Array([0x0f, 0xff, 0xff]);
    const bytes = v2Layer((w) => w.string(1, 'loss1/classifier').string(2, 'InnerProduct').bytes(7, corrupt));
    expect(readCaffeModel(bytes, { decodeBlobs: () => false }).layers[0].blobs).toEqual([]);
    caffeError(() => readCaffeModel(bytes), /corrupt: in layer 0 \('loss1\/classifier'\), field 1 at byte \d+ has the invalid wire type 7/);
  });

  it('rethrows what the callback throws, unchanged', () => {
    const cancel = new Error('cancelled');
    let err: unknown;
    try {
      readCaffeModel(encodeNet(smallNet('V1')), { decodeBlobs: () => { throw cancel; } });
    } catch (e) {
      err = e;
    }
    expect(err).toBe(cancel);
  });
});

describe('readCaffeModel: input forms', () => {
  it('accepts a Node Buffer and a view into a larger buffer', () => {
    const bytes = encodeNet(smallNet('V2'));
    expect(readCaffeModel(Buffer.from(bytes))).toEqual(smallNet('V2'));
    const padded = new Uint8Array(bytes.length + 7);
    padded.set(bytes, 3);
    expect(readCaffeModel(padded.subarray(3, 3 + bytes.length))).toEqual(smallNet('V2'));
  });

  it('refuses what is not bytes, empty files, text files and files without layers', () => {
    caffeError(() => readCaffeModel([1, 2] as unknown as Uint8Array), /expected the caffemodel contents as a Uint8Array/);
    caffeError(() => readCaffeModel(new Uint8Array(0)), /the caffemodel is empty/);
    caffeError(() => readCaffeModel(new TextEncoder().encode('name: "GoogleNet"\nlayer {\n  name: "data"\n}\n')), /text file \(a \.prototxt\?\)/);
    caffeError(() => readCaffeModel(new ProtoWriter().string(1, 'GoogleNet').finish()), /holds no layers/);
    caffeError(() => readCaffeModel(concat([layerField(smallNet('V1').layers[1], 'V1'), layerField(smallNet('V2').layers[1], 'V2')])), /mixes 1 V1 layers .* and 1 V2 layers/);
  });
});

describe('the reader\'s own imports', () => {
  it('imports nothing outside src/core/caffe: no TF.js, no Node built-ins (browser and worker safe)', () => {
    const dir = import.meta.dirname;
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    expect(files.sort()).toEqual(['blobs.ts', 'caffemodel.ts', 'errors.ts', 'fieldNames.ts', 'index.ts', 'params.ts', 'types.ts', 'wire.ts']);
    for (const f of files) {
      const specs = [...readFileSync(`${dir}/${f}`, 'utf8').matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]);
      for (const spec of specs) expect(spec, f).toMatch(/^\.\/[a-zA-Z]+$/);
    }
  });
});
