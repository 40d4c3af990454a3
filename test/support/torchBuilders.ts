// Test-only helpers: write tiny pickles and .pth files byte by byte, the way torch.save lays them out,
// so tests can craft hostile and unusual files without Python.
import { zipSync, type Zippable } from 'fflate';

const enc = new TextEncoder();

export class PickleWriter {
  private readonly out: number[] = [];

  raw(...bytes: number[]): this {
    for (const b of bytes) this.out.push(b & 0xff);
    return this;
  }

  private u32(n: number): this {
    return this.raw(n, n >>> 8, n >>> 16, n >>> 24);
  }

  proto(v = 2): this {
    return this.raw(0x80, v);
  }
  mark(): this {
    return this.raw(0x28);
  }
  stop(): this {
    return this.raw(0x2e);
  }
  none(): this {
    return this.raw(0x4e);
  }
  bool(v: boolean): this {
    return this.raw(v ? 0x88 : 0x89);
  }
  tuple(): this {
    return this.raw(0x74);
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  emptyDict(): this {
    return this.raw(0x7d);
  }
  emptyList(): this {
    return this.raw(0x5d);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  appends(): this {
    return this.raw(0x65);
  }
  reduce(): this {
    return this.raw(0x52);
  }
  build(): this {
    return this.raw(0x62);
  }
  binpersid(): this {
    return this.raw(0x51);
  }
  memoize(): this {
    return this.raw(0x94);
  }

  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= 0 && n < 65536) return this.raw(0x4d, n, n >> 8);
    if (n >= -(2 ** 31) && n < 2 ** 31) return this.raw(0x4a).u32(n);
    return this.long1(BigInt(n));
  }

  long1(n: bigint): this {
    const bytes: number[] = [];
    let v = n;
    while (v !== 0n && v !== -1n) {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
    }
    // Two's complement needs a sign byte when the top bit disagrees with the sign.
    if (bytes.length === 0 || (n >= 0n) !== ((bytes[bytes.length - 1] & 0x80) === 0)) bytes.push(n < 0n ? 0xff : 0);
    return this.raw(0x8a, bytes.length, ...bytes);
  }

  str(s: string): this {
    const b = enc.encode(s);
    return this.raw(0x58).u32(b.length).raw(...b);
  }

  shortStr(s: string): this {
    const b = enc.encode(s);
    return this.raw(0x8c, b.length, ...b);
  }

  /** GLOBAL, the text form torch.save's default protocol 2 writes. */
  global(module: string, name: string): this {
    return this.raw(0x63, ...enc.encode(`${module}\n${name}\n`));
  }

  /** STACK_GLOBAL, what protocol >= 4 writes. */
  stackGlobal(module: string, name: string): this {
    return this.shortStr(module).shortStr(name).raw(0x93);
  }

  intTuple(values: number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }

  bytes(): Uint8Array {
    return new Uint8Array(this.out);
  }
}

export interface TensorSpec {
  name: string;
  storage: string;
  /** Storage class name, FloatStorage by default. */
  type?: string;
  /** Element count declared for the storage. */
  numel: number;
  offset?: number;
  shape: number[];
  /** Row-major when omitted. */
  stride?: number[];
  /** Legacy storage view (view key, element offset, element count). */
  view?: [string, number, number];
}

export function contiguousStride(shape: number[]): number[] {
  const s = new Array<number>(shape.length);
  let e = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = e;
    e *= shape[i];
  }
  return s;
}

/** The object pickle torch.save writes for {name: tensor}, protocol 2 (legacy ids carry a 6th field). */
export function stateDictPickle(tensors: TensorSpec[], opts: { legacy?: boolean; protocol4?: boolean } = {}): Uint8Array {
  const p = new PickleWriter().proto(opts.protocol4 ? 4 : 2);
  const global = (m: string, n: string) => (opts.protocol4 ? p.stackGlobal(m, n) : p.global(m, n));
  global('collections', 'OrderedDict');
  p.emptyTuple().reduce().mark();
  for (const t of tensors) {
    p.str(t.name);
    global('torch._utils', '_rebuild_tensor_v2');
    p.mark().mark().str('storage');
    global('torch', t.type ?? 'FloatStorage');
    p.str(t.storage).str('cpu').int(t.numel);
    if (opts.legacy) {
      if (t.view) p.mark().str(t.view[0]).int(t.view[1]).int(t.view[2]).tuple();
      else p.none();
    }
    p.tuple().binpersid();
    p.int(t.offset ?? 0).intTuple(t.shape).intTuple(t.stride ?? contiguousStride(t.shape)).bool(false);
    global('collections', 'OrderedDict');
    p.emptyTuple().reduce().tuple().reduce();
    if (opts.protocol4) p.memoize();
  }
  p.setitems();
  // torch's state_dicts carry `_metadata` via BUILD.
  p.emptyDict().str('_metadata').emptyDict().raw(0x73).build();
  return p.stop().bytes();
}

export function zipPth(
  pkl: Uint8Array,
  storages: Record<string, Uint8Array>,
  opts: { prefix?: string; byteorder?: 'little' | 'big'; level?: 0 | 6; extra?: Zippable } = {},
): Uint8Array {
  const prefix = opts.prefix ?? 'archive';
  const files: Zippable = { [`${prefix}/data.pkl`]: pkl, ...opts.extra };
  if (opts.byteorder) files[`${prefix}/byteorder`] = enc.encode(opts.byteorder);
  for (const [key, data] of Object.entries(storages)) files[`${prefix}/data/${key}`] = data;
  files[`${prefix}/version`] = enc.encode('3\n');
  return zipSync(files, { level: opts.level ?? 0 });
}

export const LEGACY_MAGIC_PICKLE = new PickleWriter().proto(2).long1(0x1950a86a20f9469cfc6cn).stop().bytes();

/** Legacy layout: magic, version 1001, sys_info, object pickle, key list, then count + bytes per storage. */
export function legacyPth(mainPkl: Uint8Array, storages: [key: string, numel: number, data: Uint8Array][]): Uint8Array {
  const version = new PickleWriter().proto(2).int(1001).stop().bytes();
  const sys = new PickleWriter().proto(2).emptyDict().mark().str('protocol_version').int(1001).str('little_endian').bool(true).setitems().stop().bytes();
  const keys = new PickleWriter().proto(2).emptyList().mark();
  for (const [k] of storages) keys.str(k);
  const parts: Uint8Array[] = [LEGACY_MAGIC_PICKLE, version, sys, mainPkl, keys.appends().stop().bytes()];
  for (const [, numel, data] of storages) {
    const count = new Uint8Array(8);
    new DataView(count.buffer).setBigUint64(0, BigInt(numel), true);
    parts.push(count, data);
  }
  return concat(parts);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function f32(values: number[], littleEndian = true): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const v = new DataView(out.buffer);
  values.forEach((x, i) => v.setFloat32(4 * i, x, littleEndian));
  return out;
}

export function f64(values: number[]): Uint8Array {
  return new Uint8Array(new Float64Array(values).buffer);
}

export function u16(values: number[]): Uint8Array {
  return new Uint8Array(new Uint16Array(values).buffer);
}

export function i64(values: bigint[]): Uint8Array {
  return new Uint8Array(new BigInt64Array(values).buffer);
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array((hex.match(/../g) ?? []).map((h) => parseInt(h, 16)));
}

/**
 * Rewrites a zip so that every size and offset lives in ZIP64 fields: the central directory entries
 * saturate theirs and carry a 0x0001 extra field, and a ZIP64 end record and locator precede the
 * saturated classic end record (what torch writes for files past 4 GiB).
 */
export function toZip64(zip: Uint8Array): Uint8Array {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const eocd = zip.length - 22;
  if (v.getUint32(eocd, true) !== 0x06054b50) throw new Error('toZip64: expected a zip without comment');
  const count = v.getUint16(eocd + 10, true);
  const cdOffset = v.getUint32(eocd + 16, true);
  const entries: Uint8Array[] = [];
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    const comp = v.getUint32(p + 20, true);
    const size = v.getUint32(p + 24, true);
    const offset = v.getUint32(p + 42, true);
    const e = new Uint8Array(46 + nameLen + extraLen + 28 + commentLen);
    const ev = new DataView(e.buffer);
    e.set(zip.subarray(p, p + 46 + nameLen + extraLen));
    ev.setUint32(20, 0xffffffff, true);
    ev.setUint32(24, 0xffffffff, true);
    ev.setUint32(42, 0xffffffff, true);
    ev.setUint16(30, extraLen + 28, true);
    const x = 46 + nameLen + extraLen;
    ev.setUint16(x, 0x0001, true);
    ev.setUint16(x + 2, 24, true);
    // Order fixed by the spec: size, compressed size, local header offset.
    ev.setBigUint64(x + 4, BigInt(size), true);
    ev.setBigUint64(x + 12, BigInt(comp), true);
    ev.setBigUint64(x + 20, BigInt(offset), true);
    e.set(zip.subarray(p + 46 + nameLen + extraLen, p + 46 + nameLen + extraLen + commentLen), x + 28);
    entries.push(e);
    p += 46 + nameLen + extraLen + commentLen;
  }
  const cd = concat(entries);
  const recordOffset = cdOffset + cd.length;
  const tail = new Uint8Array(56 + 20 + 22);
  const t = new DataView(tail.buffer);
  t.setUint32(0, 0x06064b50, true);
  t.setBigUint64(4, 44n, true);
  t.setUint16(12, 45, true);
  t.setUint16(14, 45, true);
  t.setBigUint64(24, BigInt(count), true);
  t.setBigUint64(32, BigInt(count), true);
  t.setBigUint64(40, BigInt(cd.length), true);
  t.setBigUint64(48, BigInt(cdOffset), true);
  t.setUint32(56, 0x07064b50, true);
  t.setBigUint64(56 + 8, BigInt(recordOffset), true);
  t.setUint32(56 + 16, 1, true);
  const e = 56 + 20;
  t.setUint32(e, 0x06054b50, true);
  t.setUint16(e + 8, 0xffff, true);
  t.setUint16(e + 10, 0xffff, true);
  t.setUint32(e + 12, 0xffffffff, true);
  t.setUint32(e + 16, 0xffffffff, true);
  return concat([zip.subarray(0, cdOffset), cd, tail]);
}
