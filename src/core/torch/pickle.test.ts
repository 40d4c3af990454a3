import { describe, expect, it } from 'vitest';
import { PthError } from './errors';
import { PLAIN_DATA_ONLY, PyDict, PyTuple, unpickle, type PyValue } from './pickle';
import { fromHex, PickleWriter } from '../../../test/support/torchBuilders';
import { findGlobal, torchHooks } from './torchPickle';

/** Plain JS view of a PyValue for comparisons. */
function js(v: PyValue): unknown {
  if (v instanceof PyDict) return Object.fromEntries([...v.entries].map(([k, x]) => [String(k), js(x)]));
  if (v instanceof PyTuple) return { tuple: v.items.map(js) };
  if (Array.isArray(v)) return v.map(js);
  return v;
}

const plain = (bytes: Uint8Array) => unpickle(bytes, 0, PLAIN_DATA_ONLY, 'test.pkl');
const torch = (bytes: Uint8Array) =>
  unpickle(bytes, 0, torchHooks(() => { throw new PthError('no storages here'); }), 'data.pkl');

function expectPthError(f: () => unknown, ...patterns: RegExp[]): PthError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PthError);
  for (const p of patterns) expect((err as Error).message).toMatch(p);
  return err as PthError;
}

// pickle.dumps(obj, protocol=p) from CPython 3, with
// obj = {'s': 'héllo', 'i': [0, 255, 65535, -1, 2**31-1, -2**31, 2**40, -2**70], 'f': [1.5, -0.0, 1e300],
//        'n': None, 't': True, 'F': False, 'tup': (1, (2, 3), ()), 'nested': {'a': []}} (+ 'b': b'\x00\xffab' for p >= 3)
const PY = {
  2: '80027d7100285801000000737101580600000068c3a96c6c6f710258010000006971035d7104284b004bff4dffff4affffffff4affffff7f4a000000808a060000000000018a090000000000000000c06558010000006671055d710628473ff8000000000000478000000000000000477e37e43c8800759c6558010000006e71074e5801000000747108885801000000467109895803000000747570710a4b014b024b0386710b2987710c58060000006e6573746564710d7d710e580100000061710f5d711073752e',
  3: '80037d7100285801000000737101580600000068c3a96c6c6f710258010000006971035d7104284b004bff4dffff4affffffff4affffff7f4a000000808a060000000000018a090000000000000000c06558010000006671055d710628473ff8000000000000478000000000000000477e37e43c8800759c6558010000006e71074e5801000000747108885801000000467109895803000000747570710a4b014b024b0386710b2987710c58060000006e6573746564710d7d710e580100000061710f5d7110735801000000627111430400ff61627112752e',
  4: '800495a3000000000000007d94288c0173948c0668c3a96c6c6f948c0169945d94284b004bff4dffff4affffffff4affffff7f4a000000808a060000000000018a090000000000000000c0658c0166945d9428473ff8000000000000478000000000000000477e37e43c8800759c658c016e944e8c017494888c014694898c03747570944b014b024b0386942987948c066e6573746564947d948c0161945d94738c016294430400ff616294752e',
  5: '800595a3000000000000007d94288c0173948c0668c3a96c6c6f948c0169945d94284b004bff4dffff4affffffff4affffff7f4a000000808a060000000000018a090000000000000000c0658c0166945d9428473ff8000000000000478000000000000000477e37e43c8800759c658c016e944e8c017494888c014694898c03747570944b014b024b0386942987948c066e6573746564947d948c0161945d94738c016294430400ff616294752e',
};
// pickle.dumps(collections.OrderedDict([('x', 1), ('y', 2)]), protocol=p)
const PY_ORDERED = {
  2: '800263636f6c6c656374696f6e730a4f726465726564446963740a7100295271012858010000007871024b0158010000007971034b02752e',
  4: '80049530000000000000008c0b636f6c6c656374696f6e73948c0b4f72646572656444696374949394295294288c0178944b018c0179944b02752e',
};

describe('unpickle: what CPython writes', () => {
  for (const [p, hex] of Object.entries(PY)) {
    it(`decodes protocol ${p} plain data`, () => {
      const bytes = fromHex(hex);
      const { value, end } = plain(bytes);
      expect(end).toBe(bytes.length);
      const expected: Record<string, unknown> = {
        s: 'héllo',
        i: [0, 255, 65535, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, -(2n ** 70n)],
        f: [1.5, -0, 1e300],
        n: null,
        t: true,
        F: false,
        tup: { tuple: [1, { tuple: [2, 3] }, { tuple: [] }] },
        nested: { a: [] },
      };
      if (Number(p) >= 3) expected.b = new Uint8Array([0, 255, 97, 98]);
      expect(js(value)).toEqual(expected);
    });
  }

  for (const [p, hex] of Object.entries(PY_ORDERED)) {
    it(`decodes an OrderedDict at protocol ${p} (GLOBAL / STACK_GLOBAL + REDUCE)`, () => {
      expect(js(torch(fromHex(hex)).value)).toEqual({ x: 1, y: 2 });
    });
  }

  it('shares memoized objects like Python (BINPUT/BINGET)', () => {
    // pickle.dumps([l, l], protocol=2) with l = [1]
    const v = plain(fromHex('80025d7100285d71014b01616801652e')).value as PyValue[][];
    expect(v[0]).toBe(v[1]);
    expect(v[0]).toEqual([1]);
  });

  it('handles the text opcodes protocol 2 still allows (INT, LONG, FLOAT, PUT/GET, DICT, LIST)', () => {
    const enc = new TextEncoder();
    const bytes = new Uint8Array([0x28, ...enc.encode('I42\nI01\nL-12345678901234567890L\nF0.25\n'), 0x6c, ...enc.encode('p7\n'), 0x30, ...enc.encode('g7\n'), 0x2e]);
    expect(js(plain(bytes).value)).toEqual([42, true, -12345678901234567890n, 0.25]);
  });

  it('reads a legacy magic number as an exact big integer', () => {
    const v = plain(new PickleWriter().proto(2).long1(0x1950a86a20f9469cfc6cn).stop().bytes()).value;
    expect(v).toBe(0x1950a86a20f9469cfc6cn);
    expect(plain(new PickleWriter().proto(2).long1(-129n).stop().bytes()).value).toBe(-129);
  });
});

describe('unpickle: refusals', () => {
  const gadgets: [string, string][] = [
    ['os', 'system'],
    ['posix', 'system'],
    ['nt', 'system'],
    ['builtins', 'eval'],
    ['builtins', 'exec'],
    ['__builtin__', 'eval'],
    ['subprocess', 'Popen'],
    ['torch.storage', '_load_from_bytes'],
    ['torch', 'load'],
    ['numpy.core.multiarray', '_reconstruct'],
    ['torchvision.models.alexnet', 'AlexNet'],
  ];

  for (const [module, name] of gadgets) {
    it(`refuses GLOBAL ${module}.${name} + REDUCE (a __reduce__ gadget)`, () => {
      const p = new PickleWriter().proto(2).global(module, name).mark().str('touch pwned-by-pickle').tuple().reduce().stop();
      expectPthError(() => torch(p.bytes()), new RegExp(`global '${module.replace(/\./g, '\\.')}\\.${name}' is not allowed`), /GLOBAL at offset 2/);
    });

    it(`refuses STACK_GLOBAL ${module}.${name}`, () => {
      const p = new PickleWriter().proto(4).stackGlobal(module, name).str('id').raw(0x85).reduce().stop();
      expectPthError(() => torch(p.bytes()), new RegExp(`'${module.replace(/\./g, '\\.')}\\.${name}' is not allowed`), /STACK_GLOBAL at offset/);
    });
  }

  it('refuses the gadget even behind memo indirection and NEWOBJ', () => {
    const p = new PickleWriter().proto(2).global('os', 'system').raw(0x71, 0, 0x30).raw(0x68, 0).emptyTuple().raw(0x81).stop();
    expectPthError(() => torch(p.bytes()), /'os\.system' is not allowed/);
  });

  it('refuses calling allowed globals that are not callables, and REDUCE on plain values', () => {
    expectPthError(() => torch(new PickleWriter().proto(2).global('torch', 'FloatStorage').mark().int(10).tuple().reduce().stop().bytes()), /REDUCE on torch\.FloatStorage is not allowed/);
    expectPthError(() => torch(new PickleWriter().proto(2).str('os.system').mark().tuple().reduce().stop().bytes()), /REDUCE on str 'os\.system' is not allowed/);
    expectPthError(() => torch(new PickleWriter().proto(2).global('torch._utils', '_rebuild_tensor_v2').mark().int(1).tuple().reduce().stop().bytes()), /_rebuild_tensor_v2 called with 1 arguments/);
    expectPthError(() => torch(new PickleWriter().proto(2).emptyList().emptyDict().build().stop().bytes()), /BUILD on list/);
  });

  it('refuses STACK_GLOBAL built from non-strings', () => {
    expectPthError(() => torch(new PickleWriter().proto(4).int(1).int(2).raw(0x93).stop().bytes()), /STACK_GLOBAL needs two strings/);
  });

  it('allows no globals at all in plain-data pickles', () => {
    expectPthError(() => plain(new PickleWriter().proto(2).global('collections', 'OrderedDict').stop().bytes()), /not allowed in this part of the file/);
  });

  it('refuses unknown and unsupported opcodes, naming them and their offset', () => {
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0xff, 0x2e])), /unknown pickle opcode 0xff/, /offset 2/);
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0x28, 0x69, 0x6f, 0x73, 0x0a, 0x73, 0x79, 0x73, 0x74, 0x65, 0x6d, 0x0a, 0x2e])), /INST instantiates arbitrary classes/, /INST at offset 3/);
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0x28, 0x6f, 0x2e])), /OBJ/);
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0x82, 1, 0x2e])), /extension registry/, /EXT1 at offset 2/);
    expectPthError(() => plain(new Uint8Array([0x80, 5, 0x97, 0x2e])), /out-of-band/);
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0x50, 0x31, 0x0a, 0x2e])), /PERSID/);
    expectPthError(() => plain(new Uint8Array([0x80, 9, 0x4e, 0x2e])), /unsupported pickle protocol 9/);
  });

  it('refuses malformed stacks and memo references', () => {
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0x2e])), /stack underflow/);
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0x74, 0x2e])), /no MARK/);
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0x68, 5, 0x2e])), /memo key 5 was never stored/);
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0x4e, 0x4e, 0x4e, 0x73, 0x2e])), /cannot set items on None/);
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0x7d, 0x5d, 0x4e, 0x73, 0x2e])), /unsupported dict key: list/);
  });

  it('checks announced lengths against the bytes that remain, before allocating', () => {
    // BINUNICODE claiming 4 GiB - 1, BINBYTES8 claiming 2^52, LONG4 claiming 2 GiB.
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0x58, 0xff, 0xff, 0xff, 0xff, 0x61])), /truncated/, /4294967295/);
    expectPthError(() => plain(new Uint8Array([0x80, 4, 0x8e, 0, 0, 0, 0, 0, 0, 0x10, 0, 1, 2])), /truncated/);
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0x8b, 0xff, 0xff, 0xff, 0x7f, 0])), /too large/);
    expectPthError(() => plain(new Uint8Array([0x80, 4, 0x95, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0x4e, 0x2e])), /truncated/, /frame/);
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0x54, 0xfe, 0xff, 0xff, 0xff])), /negative length/);
  });

  it('bounds nesting depth and text arguments', () => {
    const deep = new Uint8Array(70_000).fill(0x28);
    deep[deep.length - 1] = 0x2e;
    expectPthError(() => plain(deep), /nested MARKs/);
    const longLine = new Uint8Array([0x63, ...new Uint8Array(5000).fill(0x61), 0x0a, 0x61, 0x0a, 0x2e]);
    expectPthError(() => torch(longLine), /longer than 4096 bytes/);
  });

  it('refuses invalid UTF-8 text', () => {
    expectPthError(() => plain(new Uint8Array([0x80, 2, 0x8c, 2, 0xc3, 0x28, 0x2e])), /invalid UTF-8/);
  });

  it('reports every truncation of a valid pickle as a PthError', () => {
    const bytes = fromHex(PY[4]);
    for (let n = 0; n < bytes.length; n++) expectPthError(() => plain(bytes.subarray(0, n)), /truncated|underflow|MARK/);
  });

  it('names the allow-list in refusals from findGlobal itself', () => {
    expect(() => findGlobal('torch', 'QUInt8Storage')).toThrow(/storage type 'torch\.QUInt8Storage' is not supported/);
    expect(() => findGlobal('__torch__.model', 'Net')).toThrow(/TorchScript/);
  });
});
