import { describe, expect, it } from 'vitest';
import { PthError, readPth } from './index';
import { concat, f32, f64, i64, legacyPth, PickleWriter, stateDictPickle, u16, zipPth, type TensorSpec } from '../../../test/support/torchBuilders';

const zipOf = (tensors: TensorSpec[], storages: Record<string, Uint8Array>, opts: Parameters<typeof zipPth>[2] = {}) =>
  zipPth(stateDictPickle(tensors), storages, opts);

const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('tensor conversion', () => {
  it('converts float16 (normal, subnormal, inf, negative zero) to float32', () => {
    const halves = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x8000, 0x3555];
    const sd = readPth(zipOf([{ name: 'h', storage: '0', type: 'HalfStorage', numel: halves.length, shape: [3, 3] }], { 0: u16(halves) }));
    const t = sd.get('h')!;
    expect(t.shape).toEqual([3, 3]);
    expect([...t.data]).toEqual([1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, Infinity, -Infinity, -0, 0.333251953125]);
    const nan = readPth(zipOf([{ name: 'n', storage: '0', type: 'HalfStorage', numel: 1, shape: [1] }], { 0: u16([0x7e00]) }));
    expect(Number.isNaN(nan.get('n')!.data[0])).toBe(true);
  });

  it('converts float64, bfloat16 and integer storages to float32', () => {
    const sd = readPth(
      zipOf(
        [
          { name: 'd', storage: '0', type: 'DoubleStorage', numel: 3, shape: [3] },
          { name: 'bf', storage: '1', type: 'BFloat16Storage', numel: 2, shape: [2] },
          { name: 'l', storage: '2', type: 'LongStorage', numel: 4, shape: [4] },
          { name: 'num_batches_tracked', storage: '3', type: 'LongStorage', numel: 1, shape: [] },
          { name: 'i', storage: '4', type: 'IntStorage', numel: 2, shape: [2] },
          { name: 'b', storage: '5', type: 'BoolStorage', numel: 3, shape: [3] },
          { name: 'u', storage: '6', type: 'ByteStorage', numel: 2, shape: [2] },
          { name: 'c', storage: '7', type: 'CharStorage', numel: 2, shape: [2] },
        ],
        {
          0: f64([0.1, -1e10, 1e300]),
          1: u16([0x3f80, 0xc040]),
          2: i64([0n, -1n, 2n ** 40n, -(2n ** 33n) - 5n]),
          3: i64([1234n]),
          4: new Uint8Array(new Int32Array([-7, 2 ** 30]).buffer),
          5: new Uint8Array([0, 1, 2]),
          6: new Uint8Array([0, 255]),
          7: new Uint8Array([0x80, 0x7f]),
        },
      ),
    );
    expect([...sd.get('d')!.data]).toEqual([Math.fround(0.1), Math.fround(-1e10), Infinity]);
    expect([...sd.get('bf')!.data]).toEqual([1, -3]);
    expect([...sd.get('l')!.data]).toEqual([0, -1, 2 ** 40, Math.fround(-(2 ** 33) - 5)]);
    expect(sd.get('num_batches_tracked')).toEqual({ shape: [], data: new Float32Array([1234]) });
    expect([...sd.get('i')!.data]).toEqual([-7, 2 ** 30]);
    expect([...sd.get('b')!.data]).toEqual([0, 1, 1]);
    expect([...sd.get('u')!.data]).toEqual([0, 255]);
    expect([...sd.get('c')!.data]).toEqual([-128, 127]);
  });

  it('honours storage offset and strides: transposed, sliced, expanded views', () => {
    // Storage 0..23; a [3,4] matrix at offset 2, its transpose, a column, and a stride-0 broadcast.
    const storage = f32(iota(24));
    const sd = readPth(
      zipOf(
        [
          { name: 'm', storage: '0', numel: 24, offset: 2, shape: [3, 4] },
          { name: 'mT', storage: '0', numel: 24, offset: 2, shape: [4, 3], stride: [1, 4] },
          { name: 'col', storage: '0', numel: 24, offset: 3, shape: [3], stride: [4] },
          { name: 'bcast', storage: '0', numel: 24, offset: 5, shape: [2, 3], stride: [0, 1] },
          { name: 'nchw', storage: '0', numel: 24, offset: 0, shape: [2, 3, 2, 2], stride: [12, 1, 6, 3] },
          { name: 'scalar', storage: '0', numel: 24, offset: 23, shape: [], stride: [] },
          { name: 'empty', storage: '0', numel: 24, offset: 0, shape: [0, 5], stride: [5, 1] },
        ],
        { 0: storage },
      ),
    );
    expect([...sd.get('m')!.data]).toEqual(iota(12).map((i) => i + 2));
    expect(sd.get('mT')!.shape).toEqual([4, 3]);
    expect([...sd.get('mT')!.data]).toEqual([2, 6, 10, 3, 7, 11, 4, 8, 12, 5, 9, 13]);
    expect([...sd.get('col')!.data]).toEqual([3, 7, 11]);
    expect([...sd.get('bcast')!.data]).toEqual([5, 6, 7, 5, 6, 7]);
    const nchw: number[] = [];
    for (let n = 0; n < 2; n++) for (let c = 0; c < 3; c++) for (let h = 0; h < 2; h++) for (let w = 0; w < 2; w++) nchw.push(12 * n + c + 6 * h + 3 * w);
    expect([...sd.get('nchw')!.data]).toEqual(nchw);
    expect(sd.get('scalar')).toEqual({ shape: [], data: new Float32Array([23]) });
    expect(sd.get('empty')).toEqual({ shape: [0, 5], data: new Float32Array(0) });
    // Tensors sharing a storage get independent copies.
    sd.get('m')!.data[0] = -1;
    expect(sd.get('mT')!.data[0]).toBe(2);
  });

  it('reads strided float16 views and deflate-compressed zips', () => {
    const halves = iota(6).map((i) => 0x3c00 + (i << 10)); // 1, 2, 4, 8, 16, 32
    const bytes = zipOf([{ name: 'hT', storage: '0', type: 'HalfStorage', numel: 6, offset: 0, shape: [3, 2], stride: [1, 3] }], { 0: u16(halves) }, { level: 6 });
    expect([...readPth(bytes).get('hT')!.data]).toEqual([1, 8, 2, 16, 4, 32]);
  });

  it('reads big-endian zip archives (byteorder = big)', () => {
    const bytes = zipOf([{ name: 'w', storage: '0', numel: 3, shape: [3] }], { 0: f32([1.5, -2, 3.25], false) }, { byteorder: 'big' });
    expect([...readPth(bytes).get('w')!.data]).toEqual([1.5, -2, 3.25]);
    const le = zipOf([{ name: 'w', storage: '0', numel: 3, shape: [3] }], { 0: f32([1.5, -2, 3.25]) }, { byteorder: 'little' });
    expect([...readPth(le).get('w')!.data]).toEqual([1.5, -2, 3.25]);
  });

  it('reads protocol-4 pickles (STACK_GLOBAL, MEMOIZE) and any archive folder name', () => {
    const pkl = stateDictPickle([{ name: 'a', storage: '0', numel: 2, shape: [2] }], { protocol4: true });
    const sd = readPth(zipPth(pkl, { 0: f32([7, 8]) }, { prefix: 'my_model' }));
    expect([...sd.get('a')!.data]).toEqual([7, 8]);
  });

  it('reads hand-built legacy files, including unaligned data and storage views', () => {
    // Storage holds 10 floats; tensor 'view' uses the legacy view ('v', 4, 6) with an offset of 1 inside it.
    // Longer storage keys shift where the raw data lands, covering every alignment.
    for (const pad of [0, 1, 2, 3]) {
      const key = 'a' + 'x'.repeat(pad);
      const pkl = stateDictPickle(
        [
          { name: 'full', storage: key, numel: 10, shape: [2, 5] },
          { name: 'view', storage: key, numel: 10, view: ['v', 4, 6], offset: 1, shape: [5] },
          { name: 'half', storage: 'b', type: 'HalfStorage', numel: 3, shape: [3] },
        ],
        { legacy: true },
      );
      const file = legacyPth(pkl, [[key, 10, f32(iota(10))], ['b', 3, u16([0x3c00, 0x4000, 0x4200])]]);
      const sd = readPth(file);
      expect([...sd.get('full')!.data]).toEqual(iota(10));
      expect([...sd.get('view')!.data]).toEqual([5, 6, 7, 8, 9]);
      expect([...sd.get('half')!.data]).toEqual([1, 2, 3]);
      // Also when the file itself sits at an odd offset inside a larger buffer.
      const shifted = concat([new Uint8Array(1), file]).subarray(1);
      expect([...readPth(shifted).get('full')!.data]).toEqual(iota(10));
    }
  });

  it('unwraps {"state_dict": {...}} checkpoints and drops non-tensor values', () => {
    const inner = stateDictPickle([{ name: 'w', storage: '0', numel: 1, shape: [1] }]);
    // {'epoch': 3, 'state_dict': <inner>, 'lr': 0.1}: splice the inner dict (without PROTO/STOP) into an outer one.
    const p = new PickleWriter().proto(2).emptyDict().mark().str('epoch').int(3).str('state_dict').raw(...inner.subarray(2, inner.length - 1)).str('lr').raw(0x47, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a).setitems().stop();
    const sd = readPth(zipPth(p.bytes(), { 0: f32([4]) }));
    expect([...sd.keys()]).toEqual(['w']);

    const mixed = new PickleWriter().proto(2).emptyDict().mark().str('epoch').int(3).str('w').raw(...inner.subarray(2, inner.length - 1)).setitems().stop();
    // Here 'w' is itself a dict of tensors, not a tensor: the top level holds no tensors.
    expect(() => readPth(zipPth(mixed.bytes(), { 0: f32([4]) }))).toThrow(/expected a state_dict, but the dict holds no tensors \(keys: epoch, w\)/);
  });

  it('refuses top-level objects that are not dicts', () => {
    const list = new PickleWriter().proto(2).emptyList().stop().bytes();
    expect(() => readPth(zipPth(list, {}))).toThrow(PthError);
    expect(() => readPth(zipPth(list, {}))).toThrow(/expected a state_dict \(a dict of name -> tensor\), but the file holds list/);
    // A bare tensor at the top level.
    const p = new PickleWriter().proto(2).global('torch._utils', '_rebuild_tensor_v2').mark().mark().str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(1).tuple().binpersid().int(0).intTuple([1]).intTuple([1]).bool(false).emptyDict().tuple().reduce().stop();
    expect(() => readPth(zipPth(p.bytes(), { 0: f32([1]) }))).toThrow(/expected a state_dict .* but the file holds tensor \[1\]/);
  });
});
