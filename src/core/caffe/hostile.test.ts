// Hostile, corrupt and truncated caffemodels: every one must end in a CaffeError that says what is wrong,
// never in another exception, a hang, or a huge allocation.
import { describe, expect, it } from 'vitest';
import { CaffeError, readCaffeModel, type CaffeNet } from './index';
import { MAX_BLOB_ELEMENTS } from './blobs';
import { MAX_LAYERS } from './caffemodel';
import { MAX_FIELDS, Message } from './wire';
import { seededRandom } from '../random';
import { checkNet, concat, encodeBlob, encodeNet, ProtoWriter, smallNet, caffeError } from '../../../test/support/caffeBuilders';
import { mutate } from '../../../test/support/mutate';


/** A V2 file with one layer written field by field. */
const v2Layer = (build: (w: ProtoWriter) => unknown) => new ProtoWriter().message(100, build).finish();
const v1Layer = (build: (w: ProtoWriter) => unknown) => new ProtoWriter().message(2, build).finish();
/** A V2 InnerProduct layer 'fc' with one blob written field by field. */
const blobLayer = (build: (w: ProtoWriter) => unknown) => v2Layer((l) => l.string(1, 'fc').string(2, 'InnerProduct').message(7, build));
const v1BlobLayer = (build: (w: ProtoWriter) => unknown) => v1Layer((l) => l.string(4, 'fc').int(5, 14).message(6, build));

describe('lengths, wire types and varints', () => {
  it('refuses huge declared lengths before allocating anything', () => {
    for (const n of [2 ** 31, 2 ** 32 + 5, 2 ** 50]) {
      caffeError(() => readCaffeModel(new ProtoWriter().tag(100, 2).varint(n).raw([1, 2, 3]).finish()), /the caffemodel is truncated/, new RegExp(`the ${n}-byte field 'layer' \\(100\\) of a NetParameter at byte 0 runs past the end of the file`));
    }
    // A blob inside a layer claiming more than its layer holds is corrupt, and the error names the layer.
    const bytes = v2Layer((l) => l.string(1, 'conv1').tag(7, 2).varint(1000).raw([1, 2, 3]));
    caffeError(() => readCaffeModel(concat([bytes, new ProtoWriter().bytes(9, new Uint8Array(2000)).finish()])), /corrupt: in layer 0, the 1000-byte field 'blobs' \(7\) of a LayerParameter at byte \d+/, /runs past the end of its LayerParameter/);
    // A packed float array claiming more than its blob holds.
    caffeError(() => readCaffeModel(blobLayer((b) => b.message(7, (s) => s.int(1, 2)).tag(5, 2).varint(2 ** 30).raw([0, 0, 0, 0]))), /in layer 0 \('fc'\), the 1073741824-byte field 'data' \(5\) of a BlobProto at byte \d+ runs past the end of its BlobProto/);
  });

  it('refuses a known field with the wrong wire type, naming it', () => {
    caffeError(() => readCaffeModel(v2Layer((l) => l.int(1, 5))), /the name of layer 0 \(field 1 of a LayerParameter\) at byte 3 has wire type 0 \(varint\), expected length-delimited/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'c').float(7, 1))), /layer 0 \('c'\)'s blob 0 \(field 7 of a LayerParameter\) .* wire type 5 \(32-bit\), expected length-delimited/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'c').string(2, 'Convolution').message(106, (p) => p.float(4, 3)))), /layer 0 \('c'\)'s kernel_size .* expected varint or packed/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'n').string(2, 'LRN').message(118, (p) => p.int(2, 1)))), /layer 0 \('n'\)'s alpha .* expected 32-bit/);
    caffeError(() => readCaffeModel(blobLayer((b) => b.int(5, 1))), /layer 0 \('fc'\) blob 0's data .* expected packed or 32-bit floats/);
    caffeError(() => readCaffeModel(blobLayer((b) => b.float(8, 1))), /double_data .* expected packed or 64-bit doubles/);
    caffeError(() => readCaffeModel(new ProtoWriter().int(100, 1).finish()), /layer 0 at byte 0 is not a message \(wire type 0\)/);
    caffeError(() => readCaffeModel(v1Layer((l) => l.string(5, 'Convolution'))), /layer 0's type .* expected varint/);
  });

  it('refuses groups (wire types 3 and 4) at every level', () => {
    caffeError(() => readCaffeModel(new Uint8Array([0x0b, 0x0a, 0x00, 0x0c])), /field 1 at byte 0 is a protobuf group \(wire type 3\), which caffe.proto never uses/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'x').tag(50, 3).tag(50, 4))), /in layer 0, field 50 at byte \d+ is a protobuf group/);
    caffeError(() => readCaffeModel(blobLayer((b) => b.tag(1, 4))), /in layer 0 \('fc'\), field 1 at byte \d+ is a protobuf group \(wire type 4\)/);
  });

  it('refuses varints longer than 10 bytes, overflowing 64 bits, or past 2^53', () => {
    caffeError(() => readCaffeModel(new Uint8Array([0x08, ...new Array(11).fill(0x80), 0])), /varint longer than 10 bytes/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.tag(60, 0).raw([...new Array(9).fill(0xff), 0x7f]))), /in layer 0, field 60 of a LayerParameter at byte \d+ overflows 64 bits/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'c').string(2, 'Convolution').message(106, (p) => p.int(1, 2n ** 60n).int(4, 1)))), /num_output at byte \d+ is larger than 2\^53/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'c').string(2, 'Convolution').message(106, (p) => p.int(1, 2 ** 32).int(4, 1)))), /num_output at byte \d+ is 4294967296, out of range for a uint32/);
  });

  it('keeps a depth bomb in unknown fields harmless and bounded', () => {
    let bomb: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 3000; i++) bomb = new ProtoWriter().bytes(1, bomb).finish();
    const net = readCaffeModel(concat([new ProtoWriter().bytes(55, bomb).finish(), v2Layer((l) => l.string(1, 'a').string(2, 'ReLU').bytes(77, bomb))]));
    expect(net.layers.map((l) => l.name)).toEqual(['a']);
    // The reader never descends beyond what caffe.proto nests (NetParameter > layer > blob > shape).
    expect(new Message(bomb, 0, bomb.length, 'X', 8).fields()).toHaveLength(1);
    caffeError(() => new Message(bomb, 0, bomb.length, 'X', 9), /nested more than 8 deep/);
  });

  it('bounds strings and the number of layers', () => {
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'x'.repeat(70_000)))), /the name of layer 0 at byte \d+ is 70000 bytes long \(at most 65536\)/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'ok').bytes(3, new Uint8Array([0xff, 0xfe])))), /layer 0 \('ok'\)'s bottom at byte \d+ is not valid UTF-8 text/);
    const empty = new ProtoWriter().bytes(100, new Uint8Array(0)).finish();
    const many = new Uint8Array(empty.length * (MAX_LAYERS + 1));
    for (let i = 0; i <= MAX_LAYERS; i++) many.set(empty, i * empty.length);
    caffeError(() => readCaffeModel(many), /it has 100001 layers \(at most 100000\)/);
    // Millions of tiny fields are refused before each becomes an object.
    const tiny = new Uint8Array(2 * (MAX_FIELDS + 1)).fill(0x08).map((b, i) => (i % 2 ? 0 : b));
    caffeError(() => readCaffeModel(tiny), new RegExp(`a NetParameter at byte 0 has more than ${MAX_FIELDS} fields`));
  });
});

describe('blobs that lie', () => {
  it('refuses a data count that differs from the shape', () => {
    caffeError(() => readCaffeModel(blobLayer((b) => b.message(7, (s) => s.packedVarints(1, [2, 3])).packedFloats(5, [1, 2, 3, 4, 5]))), /layer 0 \('fc'\) blob 0 holds 5 values but its shape 2x3 needs 6/);
    caffeError(() => readCaffeModel(v1BlobLayer((b) => b.int(1, 1).int(2, 1).int(3, 2).int(4, 2).packedFloats(5, [1, 2, 3, 4, 5]))), /blob 0 holds 5 values but its shape 1x1x2x2 needs 4/);
    caffeError(() => readCaffeModel(blobLayer((b) => b.message(7, (s) => s.packedVarints(1, [4])))), /holds 0 values but its shape 4 needs 4/);
    caffeError(() => readCaffeModel(blobLayer(() => {})), /holds 0 values but its shape \(scalar\) needs 1/);
    caffeError(() => readCaffeModel(blobLayer((b) => b.message(7, (s) => s.packedVarints(1, [2])).packedFloats(5, [1]).packedDoubles(8, [2]))), /holds both float data \(1 values\) and double data \(1 values\)/);
    caffeError(() => readCaffeModel(blobLayer((b) => b.message(7, (s) => s.packedVarints(1, [1])).bytes(5, new Uint8Array(6)))), /packed float data at byte \d+ is 6 bytes long, not a multiple of 4/);
    caffeError(() => readCaffeModel(blobLayer((b) => b.message(7, (s) => s.packedVarints(1, [1])).bytes(8, new Uint8Array(12)))), /packed double data at byte \d+ is 12 bytes long, not a multiple of 8/);
  });

  it('refuses negative dimensions, in both layouts', () => {
    caffeError(() => readCaffeModel(blobLayer((b) => b.message(7, (s) => s.packedVarints(1, [2, -3])))), /layer 0 \('fc'\) blob 0 has the negative dimension -3 in its shape 2x-3/);
    caffeError(() => readCaffeModel(blobLayer((b) => b.message(7, (s) => s.int(1, -1)))), /negative dimension -1/);
    caffeError(() => readCaffeModel(v1BlobLayer((b) => b.int(1, -1).int(2, 1).int(3, 1).int(4, 1))), /negative dimension -1 in its shape -1x1x1x1/);
    caffeError(() => readCaffeModel(new ProtoWriter().string(3, 'data').packedVarints(4, [1, -3, 2, 2]).message(2, (l) => l.int(5, 18)).finish()), /the input 'data' has the negative dimension -3/);
  });

  it('refuses shapes beyond 2^28 elements or 32 axes without allocating them', () => {
    caffeError(() => readCaffeModel(blobLayer((b) => b.message(7, (s) => s.packedVarints(1, [65536, 65536])).packedFloats(5, [1]))), new RegExp(`shape 65536x65536, more than the ${MAX_BLOB_ELEMENTS} elements`));
    caffeError(() => readCaffeModel(v1BlobLayer((b) => b.int(1, 2 ** 31 - 1).int(2, 2 ** 31 - 1).int(3, 0))), /has the dimension 2147483647/);
    caffeError(() => readCaffeModel(blobLayer((b) => b.message(7, (s) => s.packedVarints(1, new Array(33).fill(1))))), /has 33 axes \(Caffe allows at most 32\)/);
    caffeError(() => readCaffeModel(blobLayer((b) => b.message(7, (s) => s.packedVarints(1, new Array(100_000).fill(1))))), /shape.dim at byte \d+ has more than 33 values/);
    caffeError(() => readCaffeModel(blobLayer((b) => b.message(7, (s) => s.int(1, 2n ** 62n)))), /larger than 2\^53|dimension/);
    // A lying count that would fit the shape but not the bytes cannot happen: values are counted from the bytes present.
    caffeError(() => readCaffeModel(blobLayer((b) => b.message(7, (s) => s.packedVarints(1, [1000])).packedFloats(5, new Float32Array(10)))), /holds 10 values but its shape 1000 needs 1000/);
  });

  it('reads an empty blob, a scalar and a blob whose legacy fields win over its shape (as Caffe)', () => {
    expect(readCaffeModel(blobLayer((b) => b.packedFloats(5, [7]))).layers[0].blobs).toEqual([{ shape: [], data: new Float32Array([7]) }]);
    expect(readCaffeModel(blobLayer((b) => b.message(7, (s) => s.packedVarints(1, [0, 5])))).layers[0].blobs).toEqual([{ shape: [0, 5], data: new Float32Array(0) }]);
    const both = readCaffeModel(blobLayer((b) => b.message(7, (s) => s.packedVarints(1, [4])).int(1, 1).int(2, 1).int(3, 2).int(4, 2).packedFloats(5, [1, 2, 3, 4])));
    expect(both.layers[0].blobs[0].shape).toEqual([1, 1, 2, 2]);
  });
});

describe('layers and networks that are not supported or inconsistent', () => {
  it('refuses unknown enum values', () => {
    caffeError(() => readCaffeModel(v1Layer((l) => l.string(4, 'odd').int(5, 99))), /layer 0 \('odd'\) has the unknown V1 layer type 99/);
    caffeError(() => readCaffeModel(v1Layer((l) => l.string(4, 'odd').int(5, -1))), /unknown V1 layer type -1/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'p').string(2, 'Pooling').message(121, (p) => p.int(1, 3).int(2, 2)))), /layer 0 \('p'\) has the unknown pooling method 3/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'n').string(2, 'LRN').message(118, (p) => p.int(4, 2)))), /unknown LRN norm_region 2/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'd').message(8, (r) => r.int(1, 2)))), /layer 0 \('d'\) has a rule with the unknown phase 2/);
  });

  it('refuses convolution and pooling parameters it cannot represent', () => {
    const conv = (build: (p: ProtoWriter) => unknown) => v2Layer((l) => l.string(1, 'c').string(2, 'Convolution').message(106, build));
    caffeError(() => readCaffeModel(conv((p) => p.int(1, 4))), /layer 0 \('c'\) is a convolution without a kernel size/);
    caffeError(() => readCaffeModel(conv((p) => p.packedVarints(4, [3, 3, 3]))), /not supported: layer 0 \('c'\) has 3 kernel values: only 2-d layers are supported/);
    caffeError(() => readCaffeModel(conv((p) => p.int(11, 3))), /sets only one of kernel_h and kernel_w/);
    caffeError(() => readCaffeModel(conv((p) => p.int(4, 3).int(11, 3).int(12, 3))), /sets both kernel_size and kernel_h\/kernel_w/);
    caffeError(() => readCaffeModel(conv((p) => p.int(4, 3).int(18, 1).int(18, 2))), /different dilations 1 and 2/);
    caffeError(() => readCaffeModel(conv((p) => p.int(4, 3).packedVarints(3, new Array(20).fill(1)))), /pad at byte \d+ has more than 8 values/);
    const pool = (build: (p: ProtoWriter) => unknown) => v2Layer((l) => l.string(1, 'p').string(2, 'Pooling').message(121, build));
    caffeError(() => readCaffeModel(pool((p) => p.int(3, 2))), /is a pooling layer without a kernel size/);
    caffeError(() => readCaffeModel(pool((p) => p.int(2, 3).bool(12, true))), /sets a kernel size together with global_pooling/);
    caffeError(() => readCaffeModel(pool((p) => p.int(2, 3).int(13, 1))), /not supported: layer 0 \('p'\) has round_mode FLOOR/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'fc').string(2, 'InnerProduct').message(117, (p) => p.int(1, 4).bool(6, true)))), /inner product with transpose: true/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'cat').string(2, 'Concat').message(104, (p) => p.int(1, 1).int(2, 1)))), /sets both axis and concat_dim/);
  });

  it('refuses V0 layers, and inputs without shapes', () => {
    caffeError(() => readCaffeModel(v1Layer((l) => l.message(1, (v0) => v0.string(1, 'conv1').string(2, 'conv')))), /not supported: layer 0 is in the V0 layer format/);
    const relu = v1Layer((l) => l.int(5, 18));
    caffeError(() => readCaffeModel(concat([new ProtoWriter().string(3, 'data').packedVarints(4, [1, 3, 4]).finish(), relu])), /3 input_dim values for 1 inputs/);
    caffeError(() => readCaffeModel(concat([new ProtoWriter().string(3, 'data').finish(), relu])), /0 input shapes for 1 inputs/);
    caffeError(() => readCaffeModel(concat([new ProtoWriter().string(3, 'data').packedVarints(4, [1, 3, 4, 4]).message(8, (s) => s.int(1, 1)).finish(), relu])), /both input_dim and input_shape/);
    caffeError(() => readCaffeModel(v2Layer((l) => l.string(1, 'in').string(2, 'Input').string(4, 'a').string(4, 'b').string(4, 'c').message(143, (p) => p.message(1, (s) => s.int(1, 1)).message(1, (s) => s.int(1, 2))))), /Input layer with 2 shapes for 3 tops/);
  });

  it('refuses random bytes with a CaffeError', () => {
    const rand = seededRandom(5);
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      const bytes = new Uint8Array(1 + Math.floor(rand() * 3000)).map(() => Math.floor(rand() * 256));
      try {
        readCaffeModel(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(CaffeError);
        expect((e as Error).message).not.toMatch(/^failed to read/);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(290);
  });
});

/** The byte offsets where a top-level field ends: cutting there leaves a shorter but valid NetParameter. */
function topLevelEnds(bytes: Uint8Array): Set<number> {
  return new Set(new Message(bytes, 0, bytes.length, 'NetParameter').fields().map((f) => f.end));
}

describe('truncation', () => {
  for (const layout of ['V1', 'V2'] as const) {
    it(`refuses every cut of a small ${layout} model, or reads the layers before a cut between layers`, () => {
      const net = smallNet(layout);
      const bytes = encodeNet(net);
      const ends = topLevelEnds(bytes);
      let prefixes = 0;
      for (let n = 0; n < bytes.length; n++) {
        const cut = bytes.slice(0, n);
        if (ends.has(n) && n > 0) {
          let read: CaffeNet;
          try {
            read = readCaffeModel(cut);
          } catch (e) {
            // Before the first layer: the file holds no layers (or inputs without their shapes yet).
            expect((e as Error).message, `cut at ${n}`).toMatch(/holds no layers|input/);
            continue;
          }
          expect(read.layers, `cut at ${n}`).toEqual(net.layers.slice(0, read.layers.length));
          prefixes++;
          continue;
        }
        const message = caffeError(() => readCaffeModel(cut));
        expect(message, `cut at ${n}`).toMatch(n === 0 ? /empty/ : /^the caffemodel is truncated: .* runs past the end of the file/);
      }
      expect(prefixes).toBe(net.layers.length - 1);
    });
  }
});

describe('fuzzing', () => {
  it('mutated small models (V1 and V2, packed, unpacked and double data) give a consistent net or a CaffeError', () => {
    const seeds = [encodeNet(smallNet('V1')), encodeNet(smallNet('V2')), encodeNet(smallNet('V1'), { unpacked: true }), encodeNet(smallNet('V2'), { double: true })];
    const rand = seededRandom(20261202);
    let ok = 0;
    let refused = 0;
    const cases = 3000;
    for (let i = 0; i < cases; i++) {
      const input = mutate(seeds[i % seeds.length], rand);
      let net: CaffeNet;
      try {
        // Half of the cases skip some blobs, as a consumer would.
        net = readCaffeModel(input, i % 2 ? { decodeBlobs: (l) => l.type !== 'InnerProduct' } : {});
      } catch (e) {
        expect(e, `case ${i}`).toBeInstanceOf(CaffeError);
        expect((e as Error).message, `case ${i}`).not.toMatch(/^failed to read the caffemodel/);
        refused++;
        continue;
      }
      checkNet(net, input, `case ${i}`);
      ok++;
    }
    expect(ok + refused).toBe(cases);
    expect(refused).toBeGreaterThan(1000);
    // Some mutations leave a readable file (a flipped bit in a float, say): the reader is not just refusing everything.
    expect(ok).toBeGreaterThan(200);
  });

  it('mutated blobs alone give a consistent blob or a CaffeError', () => {
    const blob = encodeBlob({ shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }, 'V2');
    const rand = seededRandom(3);
    for (let i = 0; i < 1000; i++) {
      const input = v2Layer((l) => l.string(1, 'fc').string(2, 'InnerProduct').bytes(7, mutate(blob, rand)));
      try {
        checkNet(readCaffeModel(input), input, `case ${i}`);
      } catch (e) {
        expect(e, `case ${i}`).toBeInstanceOf(CaffeError);
        expect((e as Error).message, `case ${i}`).not.toMatch(/^failed to read the caffemodel/);
      }
    }
  });
});
