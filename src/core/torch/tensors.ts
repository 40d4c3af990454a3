// Storages and tensors as the pickle describes them, and their conversion to contiguous float32.
import { PthError } from './errors';
import { PyObject } from './pickle';
import type { TensorData } from './types';

export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const DTYPE_SIZE: Record<DType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** torch.<Name>Storage -> element type. Integer and bool storages are read too (see `materialize`). */
export const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** Refuses tensors that would need more than 1 GiB of float32 (e.g. a huge shape over stride-0 dims). */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/** A storage class global such as torch.FloatStorage: only ever used inside a persistent id. */
export class StorageType extends PyObject {
  constructor(readonly name: string, readonly dtype: DType) {
    super();
  }
  describe(): string {
    return `torch.${this.name}`;
  }
}

/**
 * A (view of a) storage. `key` names the root storage whose bytes the format reader supplies;
 * `base` and `numel` delimit the view in elements (legacy files may pickle storage views).
 */
export class StorageRef extends PyObject {
  constructor(readonly key: string, readonly dtype: DType, readonly base: number, readonly numel: number) {
    super();
  }
  describe(): string {
    return `${this.dtype} storage '${this.key}' (${this.numel} elements)`;
  }
}

/** What torch._utils._rebuild_tensor_v2 would build, before any data is read. */
export class TensorRef extends PyObject {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly shape: number[], readonly stride: number[]) {
    super();
  }
  describe(): string {
    return `tensor [${this.shape.join(', ')}] (${this.storage.dtype})`;
  }
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Checks shape, strides and offset against the storage and returns the span of storage elements the
 * tensor touches, relative to `storage.base + offset`. Throws PthError naming the tensor otherwise.
 */
export function tensorSpan(name: string, t: TensorRef): number {
  const { shape, stride, offset, storage } = t;
  if (shape.length !== stride.length) throw new PthError(`tensor '${name}': shape [${shape}] and stride [${stride}] differ in rank`);
  const n = numel(shape);
  if (n > MAX_TENSOR_ELEMENTS) throw new PthError(`tensor '${name}': ${n} elements exceeds the limit of ${MAX_TENSOR_ELEMENTS}`);
  if (n === 0) return 0;
  let span = 1;
  for (let i = 0; i < shape.length; i++) span += (shape[i] - 1) * stride[i];
  if (offset + span > storage.numel) {
    throw new PthError(
      `tensor '${name}': shape [${shape}] with stride [${stride}] at storage offset ${offset} needs ${offset + span} elements, ` +
        `but its storage '${storage.key}' holds ${storage.numel}`,
    );
  }
  return span;
}

const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type TypedCtor<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; new (buffer: ArrayBufferLike): T; BYTES_PER_ELEMENT: number };

/** A typed view of `count` elements at `byteStart`, copying first when the position is misaligned for T. */
function aligned<T>(bytes: Uint8Array, byteStart: number, count: number, Ctor: TypedCtor<T>): T {
  const abs = bytes.byteOffset + byteStart;
  if (abs % Ctor.BYTES_PER_ELEMENT === 0) return new Ctor(bytes.buffer, abs, count);
  return new Ctor(bytes.slice(byteStart, byteStart + count * Ctor.BYTES_PER_ELEMENT).buffer);
}

let halfTable: Float32Array | undefined;

/** All 65536 half-precision values as float32 (exact: every half is representable in float32). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const bits = new Uint32Array(65536);
  const table = new Float32Array(bits.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = (sign ? -1 : 1) * frac * 2 ** -24;
    else if (exp === 31) bits[h] = sign | 0x7f800000 | (frac << 13);
    else bits[h] = sign | ((exp + 112) << 23) | (frac << 13);
  }
  halfTable = table;
  return table;
}

/** Converts `count` elements of `dtype` starting at element `start` of `bytes` into a fresh Float32Array. */
export function toFloat32(bytes: Uint8Array, dtype: DType, start: number, count: number, littleEndian: boolean): Float32Array {
  const size = DTYPE_SIZE[dtype];
  const byteStart = start * size;
  if (byteStart + count * size > bytes.length) {
    throw new PthError(`storage data too short: needs ${byteStart + count * size} bytes, has ${bytes.length}`);
  }
  if (littleEndian === hostLittleEndian) return toFloat32Native(bytes, dtype, byteStart, count);
  return toFloat32Swapped(bytes, dtype, byteStart, count, littleEndian);
}

function toFloat32Native(bytes: Uint8Array, dtype: DType, byteStart: number, count: number): Float32Array {
  const out = new Float32Array(count);
  switch (dtype) {
    case 'float32':
      // slice() yields a fresh, aligned buffer: one copy and no per-element work.
      return new Float32Array(bytes.slice(byteStart, byteStart + count * 4).buffer);
    case 'float64':
      out.set(aligned(bytes, byteStart, count, Float64Array));
      return out;
    case 'float16': {
      const h = aligned(bytes, byteStart, count, Uint16Array);
      const table = halfToFloatTable();
      for (let i = 0; i < count; i++) out[i] = table[h[i]];
      return out;
    }
    case 'bfloat16': {
      const h = aligned(bytes, byteStart, count, Uint16Array);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = h[i] << 16;
      return out;
    }
    case 'int64': {
      // Pairs of 32-bit halves: exact up to 2^53, then float32 rounds anyway; no BigInt per element.
      const w = aligned(bytes, byteStart, count * 2, Int32Array);
      const lo = hostLittleEndian ? 0 : 1;
      for (let i = 0; i < count; i++) out[i] = w[2 * i + 1 - lo] * 4294967296 + (w[2 * i + lo] >>> 0);
      return out;
    }
    case 'int32':
      out.set(aligned(bytes, byteStart, count, Int32Array));
      return out;
    case 'int16':
      out.set(aligned(bytes, byteStart, count, Int16Array));
      return out;
    case 'int8':
      out.set(new Int8Array(bytes.buffer, bytes.byteOffset + byteStart, count));
      return out;
    case 'uint8':
      out.set(bytes.subarray(byteStart, byteStart + count));
      return out;
    case 'bool':
      for (let i = 0; i < count; i++) out[i] = bytes[byteStart + i] !== 0 ? 1 : 0;
      return out;
  }
}

/** The file's byte order differs from the host's: DataView reads each element in the file's order. */
function toFloat32Swapped(bytes: Uint8Array, dtype: DType, byteStart: number, count: number, le: boolean): Float32Array {
  const out = new Float32Array(count);
  const v = new DataView(bytes.buffer, bytes.byteOffset + byteStart, count * DTYPE_SIZE[dtype]);
  switch (dtype) {
    case 'float32':
      for (let i = 0; i < count; i++) out[i] = v.getFloat32(4 * i, le);
      break;
    case 'float64':
      for (let i = 0; i < count; i++) out[i] = v.getFloat64(8 * i, le);
      break;
    case 'float16': {
      const table = halfToFloatTable();
      for (let i = 0; i < count; i++) out[i] = table[v.getUint16(2 * i, le)];
      break;
    }
    case 'bfloat16': {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = v.getUint16(2 * i, le) << 16;
      break;
    }
    case 'int64':
      for (let i = 0; i < count; i++) {
        const hi = v.getInt32(8 * i + (le ? 4 : 0), le);
        const lo = v.getUint32(8 * i + (le ? 0 : 4), le);
        out[i] = hi * 4294967296 + lo;
      }
      break;
    case 'int32':
      for (let i = 0; i < count; i++) out[i] = v.getInt32(4 * i, le);
      break;
    case 'int16':
      for (let i = 0; i < count; i++) out[i] = v.getInt16(2 * i, le);
      break;
    case 'int8':
      for (let i = 0; i < count; i++) out[i] = v.getInt8(i);
      break;
    case 'uint8':
      for (let i = 0; i < count; i++) out[i] = v.getUint8(i);
      break;
    case 'bool':
      for (let i = 0; i < count; i++) out[i] = v.getUint8(i) !== 0 ? 1 : 0;
      break;
  }
  return out;
}

function isRowMajor(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/**
 * Reads tensor `t` from the bytes of its root storage into a contiguous row-major Float32Array.
 * Every dtype becomes float32: integer and bool tensors (e.g. BatchNorm's num_batches_tracked) are
 * converted by value, exact up to 2^24.
 */
export function materialize(name: string, t: TensorRef, storageBytes: Uint8Array, littleEndian: boolean): TensorData {
  const span = tensorSpan(name, t);
  const shape = [...t.shape];
  const n = numel(shape);
  if (n === 0) return { shape, data: new Float32Array(0) };
  const src = toFloat32(storageBytes, t.storage.dtype, t.storage.base + t.offset, span, littleEndian);
  if (span === n && isRowMajor(shape, t.stride)) return { shape, data: src };
  return { shape, data: gather(src, shape, t.stride, n) };
}

/** Walks a strided view in row-major order; the innermost dimension is a tight loop. */
function gather(src: Float32Array, shape: number[], stride: number[], n: number): Float32Array {
  const out = new Float32Array(n);
  const nd = shape.length;
  if (nd === 0) {
    out[0] = src[0];
    return out;
  }
  const idx = new Array<number>(nd).fill(0);
  const innerN = shape[nd - 1];
  const innerS = stride[nd - 1];
  let pos = 0;
  let o = 0;
  for (;;) {
    for (let j = 0, p = pos; j < innerN; j++, p += innerS) out[o++] = src[p];
    let d = nd - 2;
    for (; d >= 0; d--) {
      idx[d]++;
      pos += stride[d];
      if (idx[d] < shape[d]) break;
      pos -= stride[d] * shape[d];
      idx[d] = 0;
    }
    if (d < 0) return out;
  }
}
