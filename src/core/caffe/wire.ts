// A generic protobuf wire-format reader, hardened for untrusted input. A message is a byte range; reading
// it yields its fields (number, wire type, byte range) without interpreting them, so callers can read the
// fields they know in any order and unknown fields cost nothing but a bounds-checked skip. Every length
// is checked against the enclosing message before anything is read or allocated, varints are at most
// 10 bytes, values past 2^53 are refused, groups (wire types 3 and 4) are refused, and nesting is bounded.
import { CaffeError, WireError } from './errors';
import { FIELD_NAMES } from './fieldNames';

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const WIRE_NAMES = ['varint', '64-bit', 'length-delimited', 'group start', 'group end', '32-bit', 'invalid 6', 'invalid 7'];

/** Deeper than any caffe.proto message this reader descends into (NetParameter > layer > blob > shape is 4). */
export const MAX_DEPTH = 8;
/** Fields listed for one message: above MAX_LAYERS (100k) for NetParameter, far above what a layer holds. */
export const MAX_FIELDS = 1 << 18;
/** Layer, blob and input names are short; a longer string is not a Caffe name. */
export const MAX_STRING = 1 << 16;

/** One field occurrence. For varints and fixed values [start, end) holds the value's bytes; for length-delimited fields, the payload. */
export interface Field {
  readonly no: number;
  readonly wire: number;
  /** Offset of the field's tag in the file, for messages. */
  readonly at: number;
  readonly start: number;
  readonly end: number;
}

// The last decoded varint as two unsigned 32-bit halves and the offset after it (module scratch: no allocation per varint).
let vLo = 0;
let vHi = 0;
let vEnd = 0;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A message: a range of the file's bytes, with what it is for error messages. */
export class Message {
  constructor(
    readonly bytes: Uint8Array,
    readonly start: number,
    readonly end: number,
    /** The message type's name, e.g. 'LayerParameter'. */
    readonly type: string,
    /** 0 for the file's top-level message. */
    readonly depth = 0,
  ) {
    if (start < 0 || end > bytes.length || start > end) throw new WireError(`the caffemodel reader was given an impossible range ${start}..${end} for a ${type}`);
    if (depth > MAX_DEPTH) throw new WireError(`the caffemodel is corrupt: messages are nested more than ${MAX_DEPTH} deep at byte ${start}`);
  }

  /** Throws the "runs past the end" error for a field that needs bytes up to `need` but the message ends first. */
  private overrun(what: string, at: number, need: number): never {
    if (this.depth === 0 && this.end === this.bytes.length) {
      throw new WireError(`the caffemodel is truncated: ${what} at byte ${at} runs past the end of the file (needs ${need - at} bytes, ${this.end - at} left)`);
    }
    throw new WireError(`the caffemodel is corrupt: ${what} at byte ${at} runs past the end of its ${this.type}, which ends at byte ${this.end}`);
  }

  /** "field 'layer' (100) of a NetParameter", or "field 100 of a NetParameter" for fields the reader has no name for. */
  private label(no: number): string {
    const name = FIELD_NAMES[this.type]?.[no];
    return name === undefined ? `field ${no} of a ${this.type}` : `field '${name}' (${no}) of a ${this.type}`;
  }

  /** Decodes the varint at `pos` into vLo/vHi/vEnd. */
  private varint(pos: number, what: string): void {
    const b = this.bytes;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      const p = pos + i;
      if (p >= this.end) this.overrun(what, pos, p + 1);
      const byte = b[p];
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi = bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if ((byte & 0x80) === 0) {
        if (i === 9 && byte > 1) throw new WireError(`the caffemodel is corrupt: ${what} at byte ${pos} overflows 64 bits`);
        vLo = lo >>> 0;
        vHi = hi >>> 0;
        vEnd = p + 1;
        return;
      }
    }
    throw new WireError(`the caffemodel is corrupt: ${what} at byte ${pos} is a varint longer than 10 bytes`);
  }

  /** Calls `visit` with every field, in file order. Unknown fields need no special handling: they are skipped by the caller ignoring them. */
  forEach(visit: (f: Field) => void): void {
    let pos = this.start;
    const end = this.end;
    while (pos < end) {
      const at = pos;
      this.varint(pos, `a field tag in a ${this.type}`);
      if (vHi !== 0) throw new WireError(`the caffemodel is corrupt: the field tag at byte ${at} is out of range`);
      const no = vLo >>> 3;
      const wire = vLo & 7;
      if (no === 0) throw new WireError(`the caffemodel is corrupt: field number 0 at byte ${at} (not a protobuf message)`);
      pos = vEnd;
      let start = pos;
      switch (wire) {
        case WIRE_VARINT:
          this.varint(pos, this.label(no));
          pos = vEnd;
          break;
        case WIRE_FIXED64:
          pos += 8;
          if (pos > end) this.overrun(`the 8-byte ${this.label(no)}`, at, pos);
          break;
        case WIRE_FIXED32:
          pos += 4;
          if (pos > end) this.overrun(`the 4-byte ${this.label(no)}`, at, pos);
          break;
        case WIRE_LEN: {
          this.varint(pos, `the length of ${this.label(no)}`);
          start = vEnd;
          // Compare before adding: a length near 2^53 must not round into range.
          if (vHi !== 0 || vLo > end - start) {
            const length = vHi * 0x1_0000_0000 + vLo;
            this.overrun(`the ${length}-byte ${this.label(no)}`, at, start + length);
          }
          pos = start + vLo;
          break;
        }
        case 3:
        case 4:
          throw new WireError(`the caffemodel is corrupt: field ${no} at byte ${at} is a protobuf group (wire type ${wire}), which caffe.proto never uses`);
        default:
          throw new WireError(`the caffemodel is corrupt: field ${no} at byte ${at} has the invalid wire type ${wire} (not a protobuf message)`);
      }
      visit({ no, wire, at, start, end: pos });
    }
  }

  /** All fields, in file order; at most MAX_FIELDS (a file of millions of tiny unknown fields must not become millions of objects). */
  fields(): Field[] {
    const out: Field[] = [];
    this.forEach((f) => {
      if (out.length >= MAX_FIELDS) throw new WireError(`the caffemodel is corrupt: a ${this.type} at byte ${this.start} has more than ${MAX_FIELDS} fields`);
      out.push(f);
    });
    return out;
  }

  /** A length-delimited field as a nested message. */
  sub(f: Field, type: string, name: string): Message {
    expectWire(f, WIRE_LEN, name, this.type);
    return new Message(this.bytes, f.start, f.end, type, this.depth + 1);
  }

  /** An unsigned varint field (uint32/uint64/enum read as unsigned), at most 2^53 - 1. */
  uint(f: Field, name: string): number {
    expectWire(f, WIRE_VARINT, name, this.type);
    this.varint(f.start, name);
    return unsigned(name, f.start);
  }

  /** A uint32 field: values past 2^32 - 1 are refused rather than wrapped. */
  uint32(f: Field, name: string): number {
    const v = this.uint(f, name);
    if (v > 0xffffffff) throw new CaffeError(`the caffemodel is corrupt: ${name} at byte ${f.start} is ${v}, out of range for a uint32`);
    return v;
  }

  /** An int32 or enum field: protobuf writes negative ones as 10-byte varints; the low 32 bits are the value. */
  int32(f: Field, name: string): number {
    expectWire(f, WIRE_VARINT, name, this.type);
    this.varint(f.start, name);
    const hi = vHi;
    const v = vLo | 0;
    // A well-formed int32 is sign-extended: the high half is all zeros or all ones, matching the sign.
    if (hi !== (v < 0 ? 0xffffffff : 0)) throw new CaffeError(`the caffemodel is corrupt: ${name} at byte ${f.start} is out of range for an int32`);
    return v;
  }

  bool(f: Field, name: string): boolean {
    return this.uint(f, name) !== 0;
  }

  /** A float field (wire type 5), as the float32 value it is. */
  float(f: Field, name: string): number {
    expectWire(f, WIRE_FIXED32, name, this.type);
    return new DataView(this.bytes.buffer, this.bytes.byteOffset + f.start, 4).getFloat32(0, true);
  }

  /** A string field: at most MAX_STRING bytes of valid UTF-8. */
  string(f: Field, name: string): string {
    expectWire(f, WIRE_LEN, name, this.type);
    const n = f.end - f.start;
    if (n > MAX_STRING) throw new CaffeError(`the caffemodel is corrupt: ${name} at byte ${f.at} is ${n} bytes long (at most ${MAX_STRING})`);
    try {
      // A copy: TextDecoder refuses views of a SharedArrayBuffer, and names are short.
      return utf8.decode(this.bytes.slice(f.start, f.end));
    } catch {
      throw new CaffeError(`the caffemodel is corrupt: ${name} at byte ${f.at} is not valid UTF-8 text`);
    }
  }

  /**
   * The values of a repeated integer field occurrence, packed (wire type 2) or not (wire type 0), appended to
   * `out`. `signed` reads int32/int64 (negative values allowed), otherwise uint32/uint64. At most `limit` values in all.
   */
  varints(f: Field, name: string, out: number[], signed: boolean, limit: number): void {
    const packed = f.wire !== WIRE_VARINT;
    if (packed) expectWire(f, WIRE_LEN, name, this.type, 'varint or packed');
    // Packed values must end exactly at the field's end: one running past it is corrupt, not truncated.
    const reader = packed ? new Message(this.bytes, f.start, f.end, `packed ${name}`, Math.max(1, this.depth)) : this;
    let pos = f.start;
    const end = packed ? f.end : f.start + 1;
    while (pos < end) {
      if (out.length >= limit) throw new CaffeError(`the caffemodel is corrupt: ${name} at byte ${f.at} has more than ${limit} values`);
      try {
        reader.varint(pos, name);
      } catch (e) {
        // `name` already says where this is: no layer needs adding (see locate).
        throw e instanceof WireError ? new CaffeError(e.message) : e;
      }
      out.push(signed ? signedValue(name, pos) : unsigned(name, pos));
      pos = vEnd;
    }
  }
}

function unsigned(name: string, pos: number): number {
  if (vHi >= 0x200000) throw new CaffeError(`the caffemodel is corrupt: ${name} at byte ${pos} is larger than 2^53`);
  return vHi * 0x1_0000_0000 + vLo;
}

/** int64 in two's complement; values beyond ±2^53 are refused. */
function signedValue(name: string, pos: number): number {
  if (vHi & 0x80000000) {
    // -(2^64 - v): complement both halves and add one.
    const lo = (~vLo >>> 0) + 1;
    const hi = ~vHi >>> 0;
    if (hi >= 0x200000) throw new CaffeError(`the caffemodel is corrupt: ${name} at byte ${pos} is smaller than -2^53`);
    return -(hi * 0x1_0000_0000 + lo);
  }
  return unsigned(name, pos);
}

export function expectWire(f: Field, wire: number, name: string, type: string, expected = WIRE_NAMES[wire]): void {
  if (f.wire !== wire) {
    throw new CaffeError(`the caffemodel is corrupt: ${name} (field ${f.no} of a ${type}) at byte ${f.at} has wire type ${f.wire} (${WIRE_NAMES[f.wire]}), expected ${expected}`);
  }
}
